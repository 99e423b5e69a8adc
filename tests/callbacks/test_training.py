import pytest
import torch

import briskml as bm
from briskml.callbacks import Callback, training
from briskml.errors import ConfigError


class GradNormProbe(Callback):
    order = 30  # after GradientClip

    def __init__(self):
        self.norms = []

    def after_backward(self):
        grads = [p.grad for p in self.learn.model.parameters() if p.grad is not None]
        norms = [(g.coalesce().values() if g.is_sparse else g).norm() for g in grads]
        self.norms.append(torch.linalg.vector_norm(torch.stack(norms)).item())


def test_gradient_clip_caps_the_global_norm(make_learner):
    probe = GradNormProbe()
    learn = make_learner(callbacks=[bm.GradientClip(max_norm=0.01), probe])
    learn.fit(1, 1e-2)
    assert max(probe.norms) <= 0.01 + 1e-6


def test_gradient_clip_needs_a_positive_norm():
    with pytest.raises(ConfigError, match="max_norm"):
        bm.GradientClip(0)


def test_mixed_precision_takes_a_dtype_or_its_name():
    assert bm.MixedPrecision("fp16").dtype == torch.float16
    with pytest.raises(ConfigError, match="dtype"):
        bm.MixedPrecision("int8")
    with pytest.raises(ConfigError, match=r"bfloat16 or torch\.float16"):
        bm.MixedPrecision(torch.float64)


class InfGradient(Callback):
    order = 5  # before MixedPrecision unscales

    def after_backward(self):
        if self.learn.training and self.learn.batch_index == 0:
            self.learn.model.head.weight.grad.fill_(float("inf"))


@pytest.mark.filterwarnings("ignore:This CPU has no native")
def test_float16_skips_the_step_when_a_gradient_overflows(make_learner):
    class WeightProbe(Callback):
        order = 100

        def after_batch(self):
            if self.learn.training and self.learn.batch_index == 0:
                self.weight_after_first_batch = self.learn.model.head.weight.detach().clone()

    probe = WeightProbe()
    learn = make_learner(callbacks=[InfGradient(), probe])
    learn.to_fp16()
    start = learn.model.head.weight.detach().clone()
    learn.fit(1, 1e-2)
    scaler = next(cb for cb in learn.callbacks if isinstance(cb, bm.MixedPrecision)).scaler
    assert torch.equal(probe.weight_after_first_batch, start)
    assert scaler.get_scale() < 2.0**16  # the scale was lowered after the overflow
    assert not torch.equal(learn.model.head.weight, start)


@pytest.mark.filterwarnings("ignore:This CPU has no native")
def test_bfloat16_runs_the_forward_pass_in_bfloat16(make_learner):
    class DtypeProbe(Callback):
        def after_pred(self):
            self.dtype = self.learn.preds.dtype

    probe = DtypeProbe()
    learn = make_learner(callbacks=[probe])
    learn.to_bf16()
    learn.fit(1)
    assert probe.dtype == torch.bfloat16
    learn.to_fp32()
    learn.fit(1)
    assert probe.dtype == torch.float32


def test_mixed_precision_warns_on_a_cpu_without_native_support(make_learner, monkeypatch):
    monkeypatch.setattr(training, "_cpu_flags", lambda: frozenset({"avx2", "fma"}))
    learn = make_learner()
    learn.to_bf16()
    with pytest.warns(bm.BriskWarning, match="no native torch.bfloat16 instructions"):
        learn.fit(1)


def test_mixed_precision_is_quiet_where_the_cpu_supports_it(make_learner, monkeypatch, recwarn):
    monkeypatch.setattr(training, "_cpu_flags", lambda: frozenset({"avx512_bf16"}))
    learn = make_learner()
    learn.to_bf16()
    learn.fit(1)
    assert not [w for w in recwarn if "native" in str(w.message)]


class SparseEmbeddingModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(10, 3, sparse=True)
        self.head = torch.nn.Linear(3, 1)

    def forward(self, ids):
        return self.head(self.embedding(ids))


def test_gradient_clip_handles_sparse_gradients():
    ids, y = torch.randint(0, 10, (32,)), 100 * torch.randn(32)
    data = bm.DataLoaders(bm.TensorLoader(ids, y, bs=8), None)
    probe = GradNormProbe()
    learn = bm.Learner(data, SparseEmbeddingModel(), opt_func=torch.optim.SGD, wd=0.0,
                       progress=False, callbacks=[bm.GradientClip(max_norm=0.5), probe])
    learn.fit(1, 1e-3)
    assert max(probe.norms) <= 0.5 + 1e-5
