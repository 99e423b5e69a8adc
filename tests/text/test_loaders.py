"""The language-model stream and the padded classification batches."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import briskml as bm
from briskml.errors import DataError
from briskml.text.loaders import ClassificationLoader, LMLoader, draw_windows, sortish_order


def make_corpus(lengths, seed=0):
    """Flat ids where document d holds (d+1)*1000 + position: every token says where it is from
    (and none is the padding id 1)."""
    ids = np.concatenate([(d + 1) * 1000 + np.arange(n) for d, n in enumerate(lengths)])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return torch.from_numpy(ids.astype(np.int32)), offsets


@pytest.fixture
def corpus():
    rng = np.random.default_rng(0)
    return make_corpus(rng.integers(5, 120, size=40))


def test_lm_batches_are_shifted_by_one_token(corpus):
    loader = LMLoader(*corpus, np.arange(40), bs=4, seq_len=10)
    for x, y in loader:
        assert x.dtype == y.dtype == torch.int64 and x.shape == y.shape and x.shape[0] == 4
        assert torch.equal(x[:, 1:], y[:, :-1])


@pytest.mark.parametrize("shuffle", [False, True])
def test_lm_batches_continue_every_stream(corpus, shuffle):
    loader = LMLoader(*corpus, np.arange(40), bs=4, seq_len=10, shuffle=shuffle)
    batches = list(loader)
    assert len(batches) == len(loader)
    inputs = torch.cat([x for x, _ in batches], dim=1)
    targets = torch.cat([y for _, y in batches], dim=1)
    # Joined up, the batches are each row's stream: inputs then the last target.
    streams = torch.cat([inputs, targets[:, -1:]], dim=1)
    assert streams.shape == (4, loader.row_length)
    assert torch.equal(streams[:, 1:], targets)


def test_lm_stream_holds_whole_documents_in_order_without_shuffle(corpus):
    ids, offsets = corpus
    loader = LMLoader(ids, offsets, np.arange(40), bs=2, seq_len=7)
    rows = loader._rows()
    assert torch.equal(rows.flatten(), ids[:2 * loader.row_length].long())


def test_lm_shuffle_changes_the_document_order_each_epoch(corpus):
    loader = LMLoader(*corpus, np.arange(40), bs=2, seq_len=10, shuffle=True)
    first_tokens = [next(iter(loader))[0][0, 0].item() // 1000 for _ in range(8)]
    assert len(set(first_tokens)) > 1


def test_lm_windows_vary_around_seq_len_when_shuffled(corpus):
    loader = LMLoader(*corpus, np.arange(40), bs=2, seq_len=20, shuffle=True)
    widths = [x.shape[1] for x, _ in loader]
    assert len(set(widths)) > 1 and sum(widths) == loader.row_length - 1


def test_lm_backwards_reverses_each_document(corpus):
    ids, offsets = corpus
    loader = LMLoader(ids, offsets, np.array([0]), bs=1, seq_len=200, backwards=True)
    x, y = next(iter(loader))
    document = ids[offsets[0]:offsets[1]].long()
    assert torch.equal(torch.cat([x[0], y[0, -1:]]), document.flip(0))


def test_lm_with_too_few_tokens_is_a_clear_error():
    ids, offsets = make_corpus([3])
    with pytest.raises(DataError, match="too few for bs=64"):
        LMLoader(ids, offsets, np.array([0]), bs=64)


@settings(max_examples=200, deadline=None)
@given(count=st.integers(1, 60), seq_len=st.integers(1, 100), extra=st.integers(0, 500))
def test_drawn_windows_always_cover_the_epoch_exactly(count, seq_len, extra):
    total = count + extra
    windows = draw_windows(count, seq_len, total)
    assert len(windows) == count and windows.sum() == total and (windows >= 1).all()


def labelled(corpus, num_docs=40):
    labels = torch.arange(num_docs) % 3
    return ClassificationLoader(*corpus, np.arange(num_docs), labels, bs=8, shuffle=False)


def test_classification_batches_pad_at_the_end_to_the_longest(corpus):
    _, offsets = corpus
    lengths = np.diff(offsets)
    for tokens, labels in labelled(corpus):
        documents = tokens[:, 0] // 1000 - 1
        row_lengths = (tokens != 1).sum(dim=1)
        assert tokens.shape[1] == row_lengths.max()
        assert torch.equal(row_lengths, torch.from_numpy(lengths[documents.numpy()]))
        assert torch.equal(labels, documents % 3)
        # padding only after each document's last token
        assert all((row[n:] == 1).all() for row, n in zip(tokens, row_lengths, strict=True))


def test_validation_order_is_longest_first(corpus):
    lengths = [int((tokens != 1).sum(dim=1).max()) for tokens, _ in labelled(corpus)]
    assert lengths == sorted(lengths, reverse=True)


def test_sortish_order_serves_every_document_once_longest_batch_first():
    lengths = torch.from_numpy(np.random.default_rng(1).integers(1, 500, size=1000))
    order = sortish_order(lengths, bs=16)
    assert sorted(order.tolist()) == list(range(1000))
    assert lengths[order[0]] == lengths.max()
    batch_maxima = lengths[order][:len(order) // 16 * 16].view(-1, 16).max(dim=1).values
    assert not torch.equal(batch_maxima, batch_maxima.sort(descending=True).values)


def test_sortish_batches_group_similar_lengths():
    lengths = torch.from_numpy(np.random.default_rng(2).integers(1, 1000, size=3200))
    order = sortish_order(lengths, bs=32)
    spread = lengths[order].view(-1, 32).float()
    random_spread = lengths[torch.randperm(3200)].view(-1, 32).float()
    assert (spread.max(1).values - spread.min(1).values).mean() < 0.2 * (
        random_spread.max(1).values - random_spread.min(1).values).mean()


def test_classification_backwards_reverses_documents(corpus):
    ids, offsets = corpus
    loader = ClassificationLoader(ids, offsets, np.array([3]), torch.tensor([0]), bs=1,
                                  backwards=True)
    tokens, _ = next(iter(loader))
    assert torch.equal(tokens[0], ids[offsets[3]:offsets[4]].long().flip(0))


class MeanEmbedding(nn.Module):
    """Embedding averaged over the non-padding tokens, then a linear layer."""

    def __init__(self, vocab_size: int, num_outputs: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 8, padding_idx=1)
        self.head = nn.Linear(8, num_outputs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != 1).unsqueeze(-1).float()
        return self.head((self.embedding(tokens) * mask).sum(1) / mask.sum(1).clamp(min=1))


class TinyLM(nn.Module):
    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 8)
        self.decoder = nn.Linear(8, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.embedding(x))


def test_a_learner_trains_on_the_classification_loader(tmp_path):
    ids, offsets = make_corpus([5, 9, 12, 30] * 8)
    ids = ids % 50
    labels = torch.tensor([0, 1, 0, 1] * 8)
    train = ClassificationLoader(ids, offsets, np.arange(32), labels, bs=8, shuffle=True)
    valid = ClassificationLoader(ids, offsets, np.arange(32), labels, bs=8)
    learn = bm.Learner(bm.DataLoaders(train, valid), MeanEmbedding(50, 2),
                       loss_func=bm.cross_entropy_flat, metrics=bm.accuracy, progress=False,
                       path=tmp_path)
    learn.fit_one_cycle(2, 1e-2)
    assert set(learn.validate()) == {"valid_loss", "accuracy"}


def test_a_learner_trains_on_the_language_model_stream(tmp_path):
    ids, offsets = make_corpus([40] * 20)
    ids = ids % 30
    train = LMLoader(ids, offsets, np.arange(16), bs=4, seq_len=8, shuffle=True)
    valid = LMLoader(ids, offsets, np.arange(16, 20), bs=2, seq_len=8)
    learn = bm.Learner(bm.DataLoaders(train, valid), TinyLM(30), loss_func=bm.cross_entropy_flat,
                       progress=False, path=tmp_path)
    learn.fit_one_cycle(1, 1e-2)
    assert len(learn.recorder.losses) == len(train)
