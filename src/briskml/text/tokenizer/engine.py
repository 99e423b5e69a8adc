"""The word tokenizer's work inside one process: spaCy memoised per chunk, rules on id arrays.

spaCy's rule-based tokenizer cuts a text at whitespace and tokenises each whitespace-free chunk
on its own (its own cache is keyed by chunk, but holds only 10,000 of them). We do the cutting with
two C-level string calls per document and keep a chunk -> tokens table, so spaCy only sees chunks
never seen before, in one call per batch; every later occurrence costs a dictionary lookup. Common
English words with simple punctuation ("pig.", "(the") are split without spaCy, by a rule checked
against it. The post-rules (xxwrep, xxup/xxmaj, lower-casing, xxbos/xxeos) then run on integer
arrays for a whole batch of documents at once.

The tokens are spaCy's, except that a run of whitespace becomes one token of its non-space
characters ("\n\n") or nothing (spaces only), and that spaCy's document-level special-case pass
can, rarely, re-split a chunk because of its neighbours (4 of the 50,000 IMDb reviews, e.g.
"back'' ''Return"); there we keep what spaCy gives the chunk on its own.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np

from briskml.errors import ConfigError
from briskml.text.tokenizer.corpus import ChunkResult, ragged_ranges
from briskml.text.tokenizer.rules import (
    BOS,
    EOS,
    SPECIAL_TOKENS,
    TK_WREP,
    Rule,
    capitals_marker,
    escape_marker_words,
    is_repeatable_word,
)

# Runs of whitespace holding something other than spaces (newlines, tabs ...).
_WHITESPACE_RUN = re.compile(r"[^\S ](?: *[^\S ])*")
_SEPARATOR = "\n"
# An ASCII word with at most one bracket, quote or punctuation mark before or after it.
_AFFIXED_WORD = re.compile(r"([(\"']?)([A-Za-z]+)([.,!?;:)\"']?)")
# Distinct chunks remembered per process before the tables are dropped and rebuilt.
MAX_CHUNKS = 2_000_000


def build_spacy_tokenizer(lang: str) -> Any:
    """spaCy's blank tokenizer for `lang`, with our special tokens kept whole."""
    import spacy
    from spacy.symbols import ORTH

    try:
        nlp = spacy.blank(lang)
    except (ImportError, KeyError, ValueError) as error:
        raise ConfigError(f"spaCy has no tokenizer for lang={lang!r} here ({error}). Use a "
                          "language code spaCy supports, e.g. 'en', 'fr', 'de'.") from error
    # Token boundaries depend on the tokenizer's rules only; skipping the lexical attributes
    # (shape, is_alpha, like_num ...) spaCy computes for every new word saves much of its work.
    nlp.vocab.lex_attr_getters = {}
    tokenizer = nlp.tokenizer
    if hasattr(tokenizer, "add_special_case"):
        for token in SPECIAL_TOKENS:
            tokenizer.add_special_case(token, [{ORTH: token}])
    return tokenizer


class WordEngine:
    """One process's word tokenizer: document rules, memoised spaCy, then rules in bulk."""

    def __init__(self, lang: str, document_rules: Sequence[Rule], word_rules: Sequence[Rule],
                 add_bos: bool = True, add_eos: bool = False) -> None:
        from spacy.tokenizer import Tokenizer as RuleBasedTokenizer

        self.lang = lang
        self.document_rules, self.word_rules = tuple(document_rules), tuple(word_rules)
        self.add_bos, self.add_eos = add_bos, add_eos
        self.spacy = build_spacy_tokenizer(lang)
        # Languages with their own segmenter (Chinese, Japanese...) are not cut at whitespace.
        self.memoise = type(self.spacy) is RuleBasedTokenizer
        # English words with simple punctuation are settled without spaCy (_plain_word_tokens).
        self.exceptions = frozenset(self.spacy.rules) if self.memoise else frozenset()
        self.words_are_tokens = self.memoise and lang == "en"
        # final tokens: what a corpus holds; `num_sent` of them were already reported
        self.final_index: dict[str, int] = {}
        self.final_tokens: list[str] = []
        self.num_sent = 0
        self._forget_chunks()

    def _forget_chunks(self) -> None:
        """Start the chunk and raw-token tables afresh (bounds memory; final ids stay valid)."""
        # chunk -> chunk id; chunk c holds raw ids chunk_tokens[chunk_starts[c]:chunk_starts[c+1]]
        self.chunk_index: dict[str, int] = {}
        self.chunk_starts = np.zeros(1, dtype=np.int64)
        self.chunk_tokens = np.zeros(0, dtype=np.int32)
        # raw token (as spaCy returns it) -> final (lower-cased) token, case marker, is-a-word
        self.raw_index: dict[str, int] = {}
        self._raw_final: list[int] = []
        self._raw_marker: list[int] = []
        self._raw_word: list[bool] = []
        self._raw_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def start_session(self) -> None:
        """Report every token again from the next batch on (a new corpus is being built)."""
        self.num_sent = 0

    # ----- one batch of documents ------------------------------------------------------------
    def tokenize_batch(self, texts: Sequence[str]) -> ChunkResult:
        """Tokenise documents; ids refer to this engine's tokens (new ones are sent along)."""
        # The batch allocates many small objects and no reference cycles: the cyclic garbage
        # collector would only re-scan them, for nothing.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._tokenize_batch(texts)
        finally:
            if collecting:
                gc.enable()

    def _tokenize_batch(self, texts: Sequence[str]) -> ChunkResult:
        if len(self.chunk_index) > MAX_CHUNKS:
            self._forget_chunks()
        documents = [self._apply_document_rules(text) for text in texts]
        if self.memoise:
            raw_ids, lengths = self._raw_tokens_memoised(documents)
        else:
            raw_ids, lengths = self._raw_tokens_direct(documents)
        num_empty = int(np.count_nonzero(lengths == 0))
        raw_ids, lengths = self._replace_word_repeats(raw_ids, lengths)
        ids, lengths = self._apply_capitals(raw_ids, lengths)
        ids, lengths = self._add_document_markers(ids, lengths)
        new_tokens = self.final_tokens[self.num_sent:]
        self.num_sent = len(self.final_tokens)
        return os.getpid(), new_tokens, ids.astype(np.int32), lengths, num_empty

    def tokenize_one(self, text: str) -> list[str]:
        """The tokens of one document."""
        _, _, ids, _, _ = self.tokenize_batch([text])
        return [self.final_tokens[i] for i in ids.tolist()]

    def _apply_document_rules(self, text: str) -> str:
        return _apply_rules(escape_marker_words(text), self.document_rules).strip()

    # ----- raw tokens --------------------------------------------------------------------------
    def _raw_tokens_memoised(self, documents: list[str]) -> tuple[np.ndarray, np.ndarray]:
        chunk_lists = [split_chunks(document) for document in documents]
        chunks_per_document = np.fromiter(map(len, chunk_lists), np.int64, len(chunk_lists))
        all_chunks = list(chain.from_iterable(chunk_lists))
        chunk_ids = self._chunk_ids(all_chunks)
        starts = self.chunk_starts[chunk_ids]
        sizes = self.chunk_starts[chunk_ids + 1] - starts
        raw_ids = self.chunk_tokens[ragged_ranges(starts, sizes)]
        return raw_ids, _segment_sums(sizes, chunks_per_document)

    def _chunk_ids(self, chunks: list[str]) -> np.ndarray:
        """The id of each chunk, tokenising the ones never seen before."""
        index = self.chunk_index
        ids = np.fromiter(map(index.get, chunks, repeat(-1)), np.int64, len(chunks))
        missing = np.flatnonzero(ids < 0).tolist()
        if missing:
            unseen = [chunks[position] for position in missing]
            self._add_chunks(list(dict.fromkeys(unseen)))
            ids[missing] = np.fromiter(map(index.__getitem__, unseen), np.int64, len(unseen))
        return ids

    def _add_chunks(self, chunks: list[str]) -> None:
        if not chunks:
            return
        tokens, sizes = self._tokenize_chunks(chunks)
        for chunk in chunks:
            self.chunk_index[chunk] = len(self.chunk_index)
        raw_index = self.raw_index
        for token in dict.fromkeys(tokens):
            if token not in raw_index:
                self._raw_id(token)
        new_ids = np.fromiter(map(raw_index.__getitem__, tokens), np.int32, len(tokens))
        ends = self.chunk_starts[-1] + np.cumsum(sizes)
        self.chunk_starts = np.concatenate([self.chunk_starts, ends])
        self.chunk_tokens = np.concatenate([self.chunk_tokens, new_ids])

    def _tokenize_chunks(self, chunks: list[str]) -> tuple[list[str], np.ndarray]:
        """spaCy's tokens of new chunks, flat, and how many each chunk has.

        Whitespace runs and plain words are settled here; the rest go to spaCy in one call.
        """
        words = iter(self._apply_word_rules([chunk for chunk in chunks
                                              if chunk and not chunk.isspace()]))
        known: list[list[str] | None] = []
        texts: list[str] = []
        for chunk in chunks:
            if not chunk or chunk.isspace():  # "" stands between two spaces: no token
                known.append([chunk] if chunk else [])
                continue
            text = next(words)
            tokens = self._plain_word_tokens(chunk) if text == chunk else None
            if tokens is None:
                texts.append(" ".join(text.split()))
            known.append(tokens)
        spacy_tokens, spacy_sizes = self._spacy_tokens(texts)
        tokens_out: list[str] = []
        sizes = np.zeros(len(chunks), dtype=np.int64)
        cursor, pending = 0, iter(spacy_sizes.tolist())
        for position, tokens in enumerate(known):
            if tokens is None:
                size = next(pending)
                tokens = spacy_tokens[cursor:cursor + size]
                cursor += size
            tokens_out.extend(tokens)
            sizes[position] = len(tokens)
        return tokens_out, sizes

    def _plain_word_tokens(self, chunk: str) -> list[str] | None:
        """spaCy's English tokens of an ASCII word with at most one bracket, quote or
        punctuation mark around it ("pig." -> "pig", "."), or None for anything else.

        Checked against spaCy for every IMDb word with each such mark, and by a property test:
        a word is split from its mark unless either is a tokenizer exception ("Mr.", "dont")
        or a period follows a capital ("PhD.", "S." stay whole).
        """
        if not self.words_are_tokens or chunk in self.exceptions:
            return None
        match = _AFFIXED_WORD.fullmatch(chunk)
        if match is None:
            return None
        prefix, word, suffix = match.groups()
        if (prefix and suffix) or word in self.exceptions:
            return None
        if suffix == "." and word[-1].isupper():
            return None
        return [token for token in (prefix, word, suffix) if token]

    def _apply_word_rules(self, chunks: list[str]) -> list[str]:
        # Word-level rules never look across whitespace, so one call on all chunks joined by
        # newlines equals one call per chunk, at a fraction of the cost.
        if not self.word_rules or not chunks:
            return chunks
        joined = _SEPARATOR.join(chunks)
        for rule in self.word_rules:
            joined = rule(joined)
        processed = joined.split(_SEPARATOR)
        if len(processed) == len(chunks):
            return processed
        return [_apply_rules(chunk, self.word_rules) for chunk in chunks]  # a rule added newlines

    def _spacy_tokens(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """spaCy's tokens of all texts, flat, and how many each text has."""
        # One spaCy call for all texts, separated by newlines (which never join two chunks); the
        # tokens are cut back by character offset, without creating spaCy's Token objects.
        if not texts:
            return [], np.zeros(0, dtype=np.int64)
        from spacy.attrs import IDX, LENGTH

        joined = _SEPARATOR.join(texts)
        spans = self.spacy(joined).to_array([IDX, LENGTH]).astype(np.int64).reshape(-1, 2)
        text_starts = np.cumsum([0] + [len(text) + 1 for text in texts])
        spans = spans[~np.isin(spans[:, 0], text_starts[1:-1] - 1)]  # drop the separators
        text_of_token = np.searchsorted(text_starts, spans[:, 0], side="right") - 1
        sizes = np.bincount(text_of_token, minlength=len(texts))
        starts, ends = spans[:, 0].tolist(), (spans[:, 0] + spans[:, 1]).tolist()
        return list(map(joined.__getitem__, map(slice, starts, ends))), sizes

    def _raw_tokens_direct(self, documents: list[str]) -> tuple[np.ndarray, np.ndarray]:
        ids: list[int] = []
        lengths = np.zeros(len(documents), dtype=np.int64)
        for position, document in enumerate(documents):
            document = _apply_rules(document, self.word_rules)
            tokens = [_whitespace_token(t.text) if t.text.isspace() else t.text
                      for t in self.spacy(document)]
            tokens = [token for token in tokens if token]
            ids.extend(self._raw_id(token) for token in tokens)
            lengths[position] = len(tokens)
        return np.array(ids, dtype=np.int32), lengths

    # ----- token tables --------------------------------------------------------------------------
    def _raw_id(self, token: str) -> int:
        index = self.raw_index.get(token)
        if index is None:
            index = len(self.raw_index)
            self.raw_index[token] = index
            marker = capitals_marker(token)
            self._raw_final.append(self._final_id(token.lower()))
            self._raw_marker.append(-1 if marker is None else self._final_id(marker))
            self._raw_word.append(is_repeatable_word(token))
            self._raw_arrays = None
        return index

    def _final_id(self, token: str) -> int:
        index = self.final_index.get(token)
        if index is None:
            index = len(self.final_tokens)
            self.final_index[token] = index
            self.final_tokens.append(token)
        return index

    def _raw_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._raw_arrays is None:
            self._raw_arrays = (np.array(self._raw_final, dtype=np.int32),
                                np.array(self._raw_marker, dtype=np.int32),
                                np.array(self._raw_word, dtype=bool))
        return self._raw_arrays

    # ----- post-rules on id arrays --------------------------------------------------------------
    def _replace_word_repeats(self, ids: np.ndarray, lengths: np.ndarray
                              ) -> tuple[np.ndarray, np.ndarray]:
        """A word repeated 3+ times in a row becomes `xxwrep n word` (case-sensitive, as fastai)."""
        if len(ids) < 3:
            return ids, lengths
        is_word = self._raw_tables()[2]
        document = _document_of_each_token(lengths)
        continues = np.zeros(len(ids), dtype=bool)
        continues[1:] = (ids[1:] == ids[:-1]) & (document[1:] == document[:-1]) & is_word[ids[1:]]
        run_starts = np.flatnonzero(~continues)
        run_sizes = np.diff(np.append(run_starts, len(ids)))
        repeated = run_sizes >= 3
        if not repeated.any():
            return ids, lengths
        starts, sizes = run_starts[repeated], run_sizes[repeated]
        keep = np.ones(len(ids), dtype=bool)
        keep[ragged_ranges(starts + 1, sizes - 1)] = False
        counts = np.array([self._raw_id(str(size)) for size in sizes.tolist()], dtype=ids.dtype)
        markers = np.column_stack([np.full_like(counts, self._raw_id(TK_WREP)), counts]).ravel()
        positions = np.repeat(starts, 2)
        ids = np.insert(ids, positions, markers)[np.insert(keep, positions, True)]
        lengths = (lengths + 2 * np.bincount(document[starts], minlength=len(lengths))
                   - np.bincount(document[~keep], minlength=len(lengths)))
        return ids, lengths

    def _apply_capitals(self, raw_ids: np.ndarray, lengths: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Lower-case every token, with xxup/xxmaj before the ones that had capitals."""
        final, marker, _ = self._raw_tables()
        ids = final[raw_ids]
        markers = marker[raw_ids]
        positions = np.flatnonzero(markers >= 0)
        if len(positions) == 0:
            return ids, lengths
        document = _document_of_each_token(lengths)
        lengths = lengths + np.bincount(document[positions], minlength=len(lengths))
        return np.insert(ids, positions, markers[positions]), lengths

    def _add_document_markers(self, ids: np.ndarray, lengths: np.ndarray
                              ) -> tuple[np.ndarray, np.ndarray]:
        if self.add_bos:
            ids = np.insert(ids, np.cumsum(lengths) - lengths, self._final_id(BOS))
            lengths = lengths + 1
        if self.add_eos:
            ids = np.insert(ids, np.cumsum(lengths), self._final_id(EOS))
            lengths = lengths + 1
        return ids, lengths


def split_chunks(document: str) -> list[str]:
    """Cut a document at spaces into whitespace-free chunks, and runs of other whitespace
    ("\n \n") into chunks of their own without the spaces ("\n\n"); "" marks extra spaces.

    Two C-level calls per document, cheaper than a regex finding every chunk.
    """
    return _WHITESPACE_RUN.sub(_isolate_whitespace, document).split(" ")


def _isolate_whitespace(match: re.Match) -> str:
    return " " + match.group().replace(" ", "") + " "


def _apply_rules(text: str, rules: Sequence[Rule]) -> str:
    for rule in rules:
        text = rule(text)
    return text


def _whitespace_token(text: str) -> str:
    return text.replace(" ", "")


def _document_of_each_token(lengths: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(lengths)), lengths)


def _segment_sums(values: np.ndarray, segment_sizes: np.ndarray) -> np.ndarray:
    """Sums of consecutive segments of `values` (segments may be empty)."""
    totals = np.concatenate([[0], np.cumsum(values)])
    bounds = np.concatenate([[0], np.cumsum(segment_sizes)])
    return np.diff(totals[bounds]).astype(np.int64)
