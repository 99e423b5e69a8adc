import math

import pytest
import torch
from torch import nn

import briskml as bm
from briskml.callbacks import Callback, CancelBatch, CancelEpoch, CancelFit
from briskml.errors import ConfigError, DataError, TrainingDiverged
from briskml.schedules import slanted_triangular
from tests.conftest import TwoLayer, make_classification, make_loaders, two_group_splitter


class EventLog(Callback):
    """Records every event it sees, with train/valid for batch events."""

    def __init__(self):
        self.events = []

    def record(self, name):
        if any(word in name for word in ("batch", "pred", "loss")):
            name += ":train" if self.learn.training else ":valid"
        self.events.append(name)


def _recorder_of(event):
    def handler(self):
        self.record(event)
    return handler


for _event in bm.callbacks.EVENTS:
    setattr(EventLog, _event, _recorder_of(_event))


def test_fit_one_cycle_reaches_a_loss_well_below_its_start(make_learner):
    learn = make_learner()
    start = learn.validate()["valid_loss"]
    learn.fit_one_cycle(8, 1e-2)
    assert learn.validate()["valid_loss"] < 0.1 * start


def test_constant_rate_fit_lowers_the_loss(make_learner):
    learn = make_learner(opt_func="sgd")
    start = learn.validate()["valid_loss"]
    learn.fit(3, 1e-2)
    assert learn.validate()["valid_loss"] < start


def test_events_fire_in_order():
    x, y = torch.randn(8, 4), torch.randn(8)
    data = bm.DataLoaders(bm.TensorLoader(x, y, bs=4), bm.TensorLoader(x, y, bs=8))
    log = EventLog()
    learn = bm.Learner(data, TwoLayer(), progress=False, callbacks=[log])
    learn.fit(1)
    train_batch = ["before_batch:train", "after_pred:train", "after_loss:train", "after_backward",
                   "after_step", "after_batch:train"]
    valid_batch = ["before_batch:valid", "after_pred:valid", "after_loss:valid",
                   "after_batch:valid"]
    assert log.events == ["before_fit", "before_epoch", "before_train", *train_batch, *train_batch,
                          "after_train", "before_validate", *valid_batch, "after_validate",
                          "after_epoch", "after_fit"]


class RaiseAt(EventLog):
    """Logs events like EventLog and raises `exception` at `event` when `when(learn)` holds."""

    def __init__(self, event, exception, when=lambda learn: True):
        super().__init__()
        self.event, self.exception, self.when = event, exception, when

    @property
    def seen(self):
        return [name.split(":")[0] for name in self.events]

    def record(self, name):
        self.events.append(name)
        if name == self.event and self.when(self.learn):
            raise self.exception


def test_cancel_batch_skips_the_step_but_not_after_batch(make_learner):
    cancel = RaiseAt("after_backward", CancelBatch)
    learn = make_learner(callbacks=[cancel])
    before = [p.detach().clone() for p in learn.model.parameters()]
    learn.fit(1, 1e-2)
    assert all(torch.equal(a, b) for a, b in zip(before, learn.model.parameters(), strict=True))
    assert cancel.seen.count("after_batch") == len(learn.data.train) + len(learn.data.valid)
    assert "after_step" not in cancel.seen


def test_cancel_epoch_skips_the_rest_of_the_epoch(make_learner):
    cancel = RaiseAt("before_train", CancelEpoch, when=lambda learn: learn.epoch == 0)
    learn = make_learner(callbacks=[cancel])
    learn.fit(2)
    assert cancel.seen.count("after_epoch") == 2
    assert cancel.seen.count("before_validate") == 1


def test_cancel_fit_stops_training_and_still_runs_after_fit(make_learner):
    cancel = RaiseAt("after_epoch", CancelFit)
    learn = make_learner(callbacks=[cancel])
    learn.fit(5)
    assert cancel.seen.count("before_epoch") == 1
    assert cancel.seen[-1] == "after_fit"


def test_an_error_inside_fit_still_runs_after_fit(make_learner):
    failing = RaiseAt("after_step", KeyError("boom"))
    learn = make_learner(callbacks=[failing])
    with pytest.raises(KeyError):
        learn.fit(1)
    assert failing.seen[-1] == "after_fit"
    assert not learn.training


def test_seed_makes_a_cpu_run_repeat_exactly(make_learner):
    def run():
        torch.manual_seed(0)
        model = TwoLayer()
        learn = make_learner(model=model, seed=123)
        learn.fit_one_cycle(2, 1e-2)
        return learn.recorder.losses

    assert run() == run()


class GroupLrProbe(Callback):
    order = 100

    def __init__(self):
        self.lrs = []

    def after_batch(self):
        if self.learn.training:
            self.lrs.append([group["lr"] for group in self.learn.opt.param_groups])


def test_discriminative_rates_reach_each_layer_group(make_learner):
    probe = GroupLrProbe()
    learn = make_learner(splitter=two_group_splitter, callbacks=[probe])
    learn.fit(1, slice(1e-4, 1e-2))
    assert probe.lrs[0] == pytest.approx([1e-4, 1e-2])
    probe.lrs.clear()
    learn.fit_one_cycle(2, slice(3e-3))
    peaks = [max(step[i] for step in probe.lrs) for i in range(2)]
    assert peaks == pytest.approx([1e-3, 3e-3], rel=1e-3)


def test_freeze_leaves_frozen_weights_bit_identical_after_training(make_learner):
    learn = make_learner(splitter=two_group_splitter)
    learn.freeze()
    body = {k: v.clone() for k, v in learn.model.body.state_dict().items() if "running" not in k
            and "num_batches" not in k}
    head = [p.detach().clone() for p in learn.model.head.parameters()]
    learn.fit(1, 1e-2)
    for key, value in body.items():
        assert torch.equal(learn.model.body.state_dict()[key], value), key
    assert not all(torch.equal(a, b) for a, b in zip(head, learn.model.head.parameters(),
                                                     strict=True))


def test_frozen_parameters_receive_no_gradient(make_learner):
    class GradProbe(Callback):
        def after_backward(self):
            self.grads = [p.grad for p in self.learn.model.body.parameters()]

    probe = GradProbe()
    learn = make_learner(splitter=two_group_splitter, callbacks=[probe])
    learn.freeze_to(-1)
    learn.fit(1)
    assert all(grad is None for grad in probe.grads)


def test_freeze_to_counts_from_the_end_and_unfreeze_trains_all(make_learner):
    learn = make_learner(splitter=two_group_splitter)
    learn.freeze_to(-2)
    assert all(p.requires_grad for p in learn.model.parameters())
    learn.freeze_to(1)
    assert not any(p.requires_grad for p in learn.model.body.parameters())
    learn.unfreeze()
    assert all(p.requires_grad for p in learn.model.parameters())
    with pytest.raises(ConfigError, match="out of range for 2 layer group"):
        learn.freeze_to(-3)


def test_optimizer_state_of_trained_groups_survives_freezing(make_learner):
    learn = make_learner(splitter=two_group_splitter)
    learn.freeze()
    learn.fit(1)
    head_weight = learn.model.head.weight
    steps_after_first = learn.opt.state[head_weight]["step"].item()
    learn.unfreeze()
    learn.fit(1)
    assert learn.opt.state[head_weight]["step"].item() == 2 * steps_after_first
    assert learn.opt.state[learn.model.body[0].weight]["step"].item() == steps_after_first


def test_lr_find_restores_model_optimizer_and_random_state(make_learner):
    learn = make_learner()
    learn.fit(1)
    weights = {k: v.clone() for k, v in learn.model.state_dict().items()}
    exp_avg = learn.opt.state[learn.model.head.weight]["exp_avg"].clone()
    rng = torch.get_rng_state()
    result = learn.lr_find(num_it=30)
    for key, value in learn.model.state_dict().items():
        assert torch.equal(value, weights[key]), key
    assert torch.equal(learn.opt.state[learn.model.head.weight]["exp_avg"], exp_avg)
    assert torch.equal(torch.get_rng_state(), rng)
    assert len(result.lrs) <= 30 and result.lrs == sorted(result.lrs)
    assert all(math.isfinite(v) for v in (result.valley, result.minimum, result.steepest))


def test_lr_find_stops_once_the_loss_diverges(make_learner):
    learn = make_learner(opt_func="sgd")
    result = learn.lr_find(start_lr=1e-3, end_lr=1e6, num_it=100)
    assert len(result.lrs) < 100
    assert learn.recorder.lr_find_lrs == result.lrs


def test_lr_find_does_not_touch_the_training_history(make_learner):
    learn = make_learner()
    learn.fit(1)
    losses = list(learn.recorder.losses)
    learn.lr_find(num_it=10)
    assert learn.recorder.losses == losses


def test_get_preds_gives_probabilities_for_classification():
    data = make_loaders(*make_classification())
    learn = bm.Learner(data, TwoLayer(out_features=2), progress=False)
    preds, targets = learn.get_preds()
    assert preds.shape == (64, 2) and targets.shape == (64,)
    assert torch.allclose(preds.sum(dim=1), torch.ones(64))
    raw, _ = learn.get_preds(activation=False)
    assert not torch.allclose(raw.sum(dim=1), torch.ones(64))


def test_get_preds_takes_any_loader_and_names_missing_datasets(make_learner):
    learn = make_learner()
    loader = bm.TensorLoader(torch.randn(10, 4), torch.randn(10), bs=4)
    preds, targets = learn.get_preds(loader)
    assert preds.shape == (10, 1) and targets.shape == (10,)
    unlabelled = bm.TensorLoader(torch.randn(5, 4), has_target=False)
    preds, targets = learn.get_preds(unlabelled)
    assert preds.shape == (5, 1) and targets is None
    with pytest.raises(ConfigError, match="no 'test' data"):
        learn.get_preds("test")
    with pytest.raises(DataError, match="no targets"):
        learn.validate(unlabelled)


def test_validate_reports_loss_and_every_metric(make_learner):
    learn = make_learner(metrics=[bm.rmse, bm.r2])
    results = learn.validate()
    assert set(results) == {"valid_loss", "rmse", "r2"}
    assert results["rmse"] == pytest.approx(math.sqrt(results["valid_loss"]), rel=1e-5)


def test_loss_defaults_to_cross_entropy_for_class_targets():
    data = make_loaders(*make_classification())
    learn = bm.Learner(data, TwoLayer(out_features=2), metrics=bm.accuracy, progress=False)
    learn.fit_one_cycle(3, 1e-2)
    assert learn.loss_func is bm.cross_entropy_flat
    assert learn.validate()["accuracy"] > 0.85


class PoisonLoss(Callback):
    order = 1

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def before_train(self):
        if self.learn.epoch == self.epoch:
            self.weights = {k: v.clone() for k, v in self.learn.model.state_dict().items()}

    def after_loss(self):
        learn = self.learn
        if learn.training and learn.epoch == self.epoch and learn.batch_index == self.batch:
            learn.loss = learn.loss * float("nan")


def test_divergence_guard_restores_the_epoch_start_and_names_where(make_learner):
    poison = PoisonLoss(epoch=1, batch=2)
    learn = make_learner(callbacks=[poison])
    with pytest.raises(TrainingDiverged, match="epoch 1, batch 2"):
        learn.fit(3, 1e-2)
    for key, value in learn.model.state_dict().items():
        assert torch.equal(value, poison.weights[key]), key


def test_divergence_guard_fires_on_a_batch_with_nan_inputs():
    x, y = torch.randn(64, 4), torch.randn(64)
    x[40, 2] = float("nan")
    data = bm.DataLoaders(bm.TensorLoader(x, y, bs=16), bm.TensorLoader(x[:8], y[:8]))
    model = TwoLayer()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    learn = bm.Learner(data, model, progress=False)
    with pytest.raises(TrainingDiverged, match="epoch 0, batch 2"):
        learn.fit(1)
    for key, value in learn.model.state_dict().items():
        assert torch.equal(value, start[key]), key


def test_progress_prints_the_epoch_table(make_learner, capsys):
    learn = make_learner(metrics=[bm.rmse], progress=True)
    learn.fit(2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["epoch", "train_loss", "valid_loss", "rmse", "time"]
    assert [line.split()[0] for line in lines[1:]] == ["0", "1"]


def test_progress_false_is_silent(make_learner, capsys):
    make_learner(progress=False).fit(1)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.filterwarnings("ignore:This CPU has no native")
@pytest.mark.parametrize("precision", ["to_bf16", "to_fp16"])
def test_mixed_precision_trains_on_the_cpu(make_learner, precision):
    learn = make_learner()
    getattr(learn, precision)()
    start = learn.validate()["valid_loss"]
    learn.fit_one_cycle(4, 1e-2)
    assert learn.validate()["valid_loss"] < start
    learn.to_fp32()
    assert not any(isinstance(cb, bm.MixedPrecision) for cb in learn.callbacks)


def test_fit_stlr_rises_briefly_then_decays(make_learner):
    learn = make_learner()
    learn.fit_stlr(2, 1e-2, cut_frac=0.2)
    lrs = learn.recorder.lrs
    peak = lrs.index(max(lrs))
    assert 0 < peak < len(lrs) * 0.3
    schedule = slanted_triangular(1e-2, cut_frac=0.2)
    assert lrs == pytest.approx([schedule(i / len(lrs)) for i in range(len(lrs))])


def test_one_cycle_moves_momentum_against_the_learning_rate(make_learner):
    learn = make_learner()
    learn.fit_one_cycle(2, 1e-2, moms=(0.8, 0.7))
    moms = learn.recorder.moms
    assert moms[0] == pytest.approx(0.8) and min(moms) == pytest.approx(0.7, abs=1e-3)
    assert learn.recorder.lrs.index(max(learn.recorder.lrs)) == moms.index(min(moms))
    learn.fit(1)
    assert learn.recorder.moms[0] == pytest.approx(0.9)  # plain fit is back at the default


def test_predict_runs_one_batch_in_eval_mode(make_learner):
    learn = make_learner()
    learn.model.train()
    out = learn.predict(torch.randn(3, 4))
    assert out.shape == (3, 1) and learn.model.training


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"wd_mode": "adamw"}, "wd_mode"),
    ({"device": "gpu:7"}, "not a valid torch device"),
    ({"opt_func": "lamb"}, "opt_func"),
    ({"model": "not a model"}, "torch.nn.Module"),
])
def test_bad_learner_arguments_are_explained(make_learner, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        make_learner(**kwargs)


def test_fit_arguments_are_checked_before_training(make_learner):
    learn = make_learner()
    with pytest.raises(ConfigError, match="n_epoch"):
        learn.fit(0)
    with pytest.raises(ConfigError, match="no training data"):
        bm.Learner(None, nn.Linear(2, 1), progress=False).fit(1)
