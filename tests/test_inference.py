"""The Learner's prediction side on plain tensors: get_preds' flags and order, predict, chunks."""

import torch
from torch import nn

import briskml as bm
from briskml.inference import concat_padded, inference, predict_in_chunks
from tests.conftest import TwoLayer, make_classification, make_loaders


class TinySequenceModel(nn.Module):
    """(batch, seq) token ids -> (batch, seq, vocab) logits, like a language model."""

    def __init__(self, vocab: int = 7) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embedding(tokens)


class ServedInReverse:
    """A loader that serves its rows last first and says so with `order`, as text loaders do."""

    has_target, shuffle = True, False

    def __init__(self, x: torch.Tensor, y: torch.Tensor, bs: int) -> None:
        self.x, self.y, self.bs = x, y, bs
        self.order = torch.arange(len(x) - 1, -1, -1)

    def __len__(self) -> int:
        return -(-len(self.x) // self.bs)

    def __iter__(self):
        for start in range(0, len(self.x), self.bs):
            rows = self.order[start:start + self.bs]
            yield self.x[rows], self.y[rows]


def test_get_preds_gives_inputs_predictions_targets_decoded_and_losses_in_fastais_order():
    data = make_loaders(*make_classification())
    learn = bm.Learner(data, TwoLayer(out_features=2), progress=False)
    inputs, probs, targets, decoded, losses = learn.get_preds(
        with_input=True, with_decoded=True, with_loss=True)
    assert inputs.shape == (64, 4) and probs.shape == (64, 2) and targets.shape == (64,)
    assert torch.allclose(probs.sum(dim=1), torch.ones(64))
    assert torch.equal(decoded, probs.argmax(dim=1))
    raw, _ = learn.get_preds(activation=False)
    expected = nn.functional.cross_entropy(raw, targets, reduction="none")
    assert torch.allclose(losses, expected, atol=1e-6)
    assert abs(learn.validate()["valid_loss"] - float(expected.mean())) < 1e-5


def test_get_preds_puts_rows_back_in_the_datas_order_unless_asked_not_to():
    x, y = make_classification(num_rows=40)
    valid = ServedInReverse(x, y, bs=16)
    learn = bm.Learner(bm.DataLoaders(bm.TensorLoader(x, y, bs=8), valid), TwoLayer(out_features=2),
                       progress=False)
    inputs, _, targets = learn.get_preds(with_input=True)
    assert torch.equal(inputs, x) and torch.equal(targets, y)
    served_inputs, _, _ = learn.get_preds(with_input=True, reorder=False)
    assert torch.equal(served_inputs, x.flip(0))


def test_a_sequence_model_gives_one_row_per_token_even_with_a_short_last_batch():
    tokens = torch.randint(0, 7, (10, 5))
    targets = torch.randint(0, 7, (10, 5))
    data = bm.DataLoaders(bm.TensorLoader(tokens, targets, bs=4),
                          bm.TensorLoader(tokens, targets, bs=4))   # batches of 4, 4 and 2
    learn = bm.Learner(data, TinySequenceModel(), loss_func=bm.cross_entropy_flat,
                       progress=False)
    inputs, probs, flat_targets, decoded, losses = learn.get_preds(
        with_input=True, with_decoded=True, with_loss=True)
    assert probs.shape == (50, 7) and flat_targets.shape == (50,) and losses.shape == (50,)
    assert torch.equal(inputs, tokens.reshape(-1)) and decoded.shape == (50,)


def test_predict_takes_one_tensor_or_a_tuple_and_restores_the_training_mode():
    learn = bm.Learner(make_loaders(*make_classification()), TwoLayer(out_features=2),
                       progress=False)
    learn.model.train()
    probs = learn.predict(torch.randn(5, 4))
    assert probs.shape == (5, 2) and learn.model.training
    assert torch.equal(learn.predict((torch.ones(3, 4),)), learn.predict(torch.ones(3, 4)))


def test_predict_in_chunks_matches_one_pass_and_handles_no_rows():
    model = TwoLayer(out_features=3).eval()
    x = torch.randn(25, 4)
    with inference(model):
        whole = model(x)
    chunked = predict_in_chunks(model, (x,), torch.device("cpu"), chunk_rows=7)
    assert torch.allclose(chunked, whole, atol=1e-6) and not model.training
    assert predict_in_chunks(model, (x[:0],), torch.device("cpu")).shape == (0, 3)


def test_concat_padded_pads_ragged_batches_at_the_end():
    joined = concat_padded([torch.ones(2, 3), torch.ones(1, 5)], pad_value=9)
    assert joined.shape == (3, 5) and joined[0, 3:].tolist() == [9, 9]


def test_fine_tune_trains_the_last_group_frozen_then_everything(make_learner):
    learn = make_learner(splitter=lambda model: [list(model.body.parameters()),
                                                 list(model.head.parameters())])
    seen = []

    class Watch(bm.Callback):
        def before_fit(self):
            seen.append([p.requires_grad for p in self.learn.model.body.parameters()])
            seen.append([group["lr"] for group in self.learn.opt.param_groups])

    learn.fine_tune(1, base_lr=1e-2, freeze_epochs=1, callbacks=[Watch()])
    assert seen[0] == [False] * 4 and seen[2] == [True] * 4
    assert all(p.requires_grad for p in learn.model.parameters())


def test_describe_is_json_able_for_a_plain_learner(make_learner):
    import json

    described = make_learner().describe()
    assert json.loads(json.dumps(described))["kind"] == "learner"
    assert described["parameters"]["trainable"] == described["parameters"]["total"]


def test_predictions_that_are_not_finite_are_never_silent():
    import pytest

    from briskml.errors import BriskWarning
    from briskml.inference import predict_in_chunks

    model = torch.nn.Linear(2, 1)
    torch.nn.init.constant_(model.weight, 10.0)          # 10 x 3e38 overflows float32
    inputs = torch.tensor([[1.0, 2.0], [3e38, 3e38], [float("nan"), 0.0]])
    with pytest.warns(BriskWarning, match=r"2 of 3 predictions are NaN or infinite \(rows 1, 2\)"):
        predict_in_chunks(model, [inputs], torch.device("cpu"))
