"""Text loaders: the language-model stream and the padded classification batches.

Both hold the corpus as one flat id tensor plus document offsets and build every batch with a
few tensor operations (no per-document Python), so a batch costs microseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from briskml.checks import check_positive_int
from briskml.errors import DataError
from briskml.text.tokenizer.corpus import ragged_ranges, token_positions

Batch = tuple[Tensor, Tensor]
# The lessons' variable window: usually seq_len, sometimes half, with normal noise.
FULL_WINDOW_PROBABILITY = 0.95
WINDOW_NOISE_SD = 5.0
MIN_WINDOW = 5
MAX_EXTRA_WINDOW = 25
# A sortish megabatch holds this many batches, sorted by length before being cut.
SORTISH_BATCHES = 50


class LMLoader:
    """Language-model batches from a stream of documents, as in the lessons.

    Each epoch the documents are shuffled (with `shuffle`), joined into one stream and cut into
    `bs` rows; batches are consecutive windows of those rows, so batch k+1 continues every row
    where batch k stopped and a model can carry its hidden state across batches. Each batch is
    (x, y), both int64 of shape (bs, window), y being x shifted by one token. With `shuffle`, the
    window is seq_len (sometimes seq_len / 2, p=0.05) plus normal noise (sd 5); otherwise it is
    seq_len (the last may be shorter). The number of batches per epoch is fixed: `len(loader)`.

    Example:
        >>> loader = LMLoader(ids, offsets, documents, bs=64, seq_len=72, shuffle=True)
        >>> x, y = next(iter(loader))   # x.shape == (64, window); (x[:, 1:] == y[:, :-1]).all()
    """

    has_target = True

    def __init__(self, ids: Tensor, offsets: np.ndarray, documents: np.ndarray, bs: int = 64,
                 seq_len: int = 72, shuffle: bool = False, backwards: bool = False,
                 generator: torch.Generator | None = None) -> None:
        check_positive_int(bs, "bs")
        check_positive_int(seq_len, "seq_len")
        self.ids, self.offsets = ids, np.asarray(offsets)
        self.documents = np.asarray(documents, dtype=np.int64)
        self.bs, self.seq_len = bs, seq_len
        self.shuffle, self.backwards, self.generator = shuffle, backwards, generator
        self.device: torch.device | None = None
        lengths = self.offsets[self.documents + 1] - self.offsets[self.documents]
        self.num_tokens = int(lengths.sum())
        self.row_length = self.num_tokens // bs
        if self.row_length < 2:
            raise DataError(
                f"The language-model data has {self.num_tokens} tokens in {len(self.documents)} "
                f"documents: too few for bs={bs} streams of at least 2 tokens. Lower bs or give "
                "more text."
            )

    def __len__(self) -> int:
        """Batches per epoch."""
        return math.ceil((self.row_length - 1) / self.seq_len)

    def __iter__(self) -> Iterator[Batch]:
        rows = self._rows()
        start = 0
        for window in self._windows().tolist():
            x = rows[:, start:start + window].long()
            y = rows[:, start + 1:start + 1 + window].long()
            start += window
            yield x, y

    def _rows(self) -> Tensor:
        """This epoch's stream as (bs, row_length) ids: documents in (shuffled) order, joined."""
        order = self.documents
        if self.shuffle:
            order = order[torch.randperm(len(order), generator=self.generator).numpy()]
        positions = token_positions(self.offsets, order, self.backwards)
        positions = torch.from_numpy(positions[:self.bs * self.row_length])
        rows = self.ids[positions].view(self.bs, self.row_length)
        return rows if self.device is None else rows.to(self.device)

    def _windows(self) -> np.ndarray:
        """Window lengths for one epoch: len(self) of them, summing to row_length - 1."""
        available = self.row_length - 1
        if not self.shuffle:
            windows = np.full(len(self), self.seq_len)
            windows[-1] = available - self.seq_len * (len(self) - 1)
            return windows
        return draw_windows(len(self), self.seq_len, available, self.generator)

    def to(self, device: str | torch.device) -> LMLoader:
        """Build batches on `device` (one transfer per epoch)."""
        self.device = torch.device(device)
        return self

    def __repr__(self) -> str:
        return (f"LMLoader({len(self.documents)} documents, {self.num_tokens} tokens, "
                f"bs={self.bs}, seq_len={self.seq_len}, shuffle={self.shuffle})")


def draw_windows(count: int, seq_len: int, total: int,
                 generator: torch.Generator | None = None) -> np.ndarray:
    """`count` window lengths drawn as in the lessons, rescaled to sum exactly to `total`.

    Each is seq_len (or seq_len / 2 with probability 0.05) plus normal noise of sd 5, at least
    5 and at most seq_len + 25; scaling to `total` keeps the number of batches per epoch fixed.
    """
    if count <= 1:
        return np.array([total] * count, dtype=np.int64)
    full = torch.rand(count, generator=generator) < FULL_WINDOW_PROBABILITY
    centre = torch.where(full, float(seq_len), seq_len / 2.0)
    noisy = centre + WINDOW_NOISE_SD * torch.randn(count, generator=generator)
    lengths = noisy.clamp(min(MIN_WINDOW, seq_len), seq_len + MAX_EXTRA_WINDOW).double().numpy()
    ends = np.floor(np.cumsum(lengths) * (total / lengths.sum())).astype(np.int64)
    ends[-1] = total
    windows = np.diff(ends, prepend=0)
    if (windows < 1).any():  # only for tiny seq_len or totals: fall back to equal windows
        windows = np.diff(np.linspace(0, total, count + 1).astype(np.int64))
    return windows


class ClassificationLoader:
    """Classifier batches: (tokens, labels) with documents padded to the longest in the batch.

    Training (`shuffle=True`) uses a sortish order: documents shuffled, sorted by length inside
    megabatches of 50 batches, the batch holding the longest document first and the others in
    random order. Otherwise documents come sorted longest first (`order` maps batch rows back).
    Rows in a batch are longest first and padded with xxpad at the END: an LSTM reading left to
    right then sees every document exactly as if it were alone (padding comes after the text and
    cannot change earlier outputs), pooling masks `tokens == pad_id`, the last real output of a row
    sits at `length - 1`, and reading in chunks (BPT3C) only needs the first rows still running.
    fastai pads at the start instead.

    Example:
        >>> loader = ClassificationLoader(ids, offsets, documents, labels, bs=32, shuffle=True)
        >>> tokens, labels = next(iter(loader))   # tokens: (32, longest) int64, labels: (32,)
    """

    def __init__(self, ids: Tensor, offsets: np.ndarray, documents: np.ndarray,
                 labels: Tensor | None = None, bs: int = 64, shuffle: bool = False,
                 pad_id: int = 1, backwards: bool = False,
                 generator: torch.Generator | None = None) -> None:
        check_positive_int(bs, "bs")
        self.ids = ids
        self.offsets = torch.from_numpy(np.array(offsets, dtype=np.int64))
        self.documents = torch.from_numpy(np.array(documents, dtype=np.int64))
        if labels is not None and len(labels) != len(self.documents):
            raise DataError(f"{len(labels)} labels for {len(self.documents)} documents.")
        self.labels = labels
        self.has_target = labels is not None
        self.bs, self.shuffle, self.pad_id = bs, shuffle, pad_id
        self.backwards, self.generator = backwards, generator
        self.lengths = self.offsets[self.documents + 1] - self.offsets[self.documents]
        self.device: torch.device | None = None

    def __len__(self) -> int:
        """Batches per epoch."""
        return math.ceil(len(self.documents) / self.bs)

    @property
    def order(self) -> Tensor:
        """Positions (into `documents`) in the order batches serve them when not shuffled."""
        return torch.argsort(self.lengths, descending=True, stable=True)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        order = sortish_order(self.lengths, self.bs, self.generator) if self.shuffle else self.order
        for start in range(0, len(order), self.bs):
            rows = order[start:start + self.bs]
            tokens = self.pad_batch(self.documents[rows])
            if self.labels is None:
                yield (tokens,)
            else:
                labels = self.labels[rows]
                yield tokens, (labels if self.device is None else labels.to(self.device))

    def pad_batch(self, documents: Tensor) -> Tensor:
        """(len(documents), longest) int64 ids, padded with pad_id after each document's end."""
        starts = self.offsets[documents]
        lengths = self.offsets[documents + 1] - starts
        positions = torch.arange(max(int(lengths.max()), 1) if len(lengths) else 1)
        inside = positions < lengths[:, None]  # (batch, longest)
        if self.backwards:
            index = starts[:, None] + lengths[:, None] - 1 - positions
        else:
            index = starts[:, None] + positions
        tokens = torch.full(inside.shape, self.pad_id, dtype=torch.int64)
        tokens[inside] = self.ids[index[inside]].long()
        return tokens if self.device is None else tokens.to(self.device)

    def to(self, device: str | torch.device) -> ClassificationLoader:
        """Build batches on `device`."""
        self.device = torch.device(device)
        return self

    def __repr__(self) -> str:
        return (f"ClassificationLoader({len(self.documents)} documents, bs={self.bs}, "
                f"shuffle={self.shuffle})")


def sortish_order(lengths: Tensor, bs: int, generator: torch.Generator | None = None) -> Tensor:
    """Positions in sortish order: random, but documents of similar length batched together."""
    count = len(lengths)
    shuffled = torch.randperm(count, generator=generator)
    megabatch = torch.arange(count) // (bs * SORTISH_BATCHES)
    # Sort by length (longest first) inside each megabatch: lexsort's last key is the primary.
    inside = np.lexsort((-lengths[shuffled].numpy(), megabatch.numpy()))
    order = shuffled[torch.from_numpy(inside)]
    num_batches = math.ceil(count / bs)
    if num_batches <= 1:
        return order
    first_lengths = lengths[order[::bs]]
    longest = int(torch.argmax(first_lengths))
    others = torch.arange(num_batches)
    others = others[others != longest]
    others = others[torch.randperm(len(others), generator=generator)]
    batch_order = torch.cat([torch.tensor([longest]), others])
    starts = batch_order * bs
    sizes = torch.clamp(count - starts, max=bs)
    return order[torch.from_numpy(ragged_ranges(starts.numpy(), sizes.numpy()))]
