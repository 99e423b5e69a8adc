"""Checkpoint and resume: a run stopped at any batch and resumed ends bit for bit where an
uninterrupted run ends (weights, per-batch losses, history), on the CPU with a seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import briskml as bm
from briskml.callbacks import Callback
from briskml.errors import ConfigError
from briskml.persist import read_bundle
from briskml.tabular import TabularData


class CrashError(Exception):
    """Stands for kill -9: training stops dead after a given batch."""


class CrashAfter(Callback):
    order = 100   # after Checkpoint has written

    def __init__(self, train_iter: int, stage: int | None = None) -> None:
        self.at, self.stage = train_iter, stage

    def after_batch(self) -> None:
        learn = self.learn
        if learn.training and learn.train_iter + 1 == self.at and self.stage in (None,
                                                                                  learn._stage):
            raise CrashError


def _data(rows: int = 300, seed: int = 0) -> TabularData:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], rows),
                       "age": rng.normal(40, 10, rows)})
    df["label"] = np.where((df["age"] > 40) ^ (df["colour"] == "red"), "yes", "no")
    return TabularData.from_df(df, y="label", cat_names=["colour"], cont_names=["age"],
                               valid_pct=0.2, seed=0, bs=32)


def _learner(tmp_path, data=None, **options):
    return bm.tabular_learner(data or _data(), layers=[16, 8], ps=0.1, seed=0, progress=False,
                              path=tmp_path, metrics=[bm.accuracy], **options)


def _state(learn):
    return ({k: v.clone() for k, v in learn.model.state_dict().items()},
            list(learn.recorder.losses), [dict(row, time=0) for row in learn.recorder.values])


def _same(a, b):
    weights_a, losses_a, values_a = a
    weights_b, losses_b, values_b = b
    assert losses_a == losses_b
    assert values_a == values_b
    assert all(torch.equal(weights_a[key], weights_b[key]) for key in weights_a)


@pytest.mark.parametrize("how", ["fit_one_cycle", "fine_tune", "fit_stlr", "fit"])
@pytest.mark.parametrize(("checkpoint", "crash_at"), [
    ({"every_epochs": 1}, 12),                         # mid-epoch 2, resumes from epoch 1's end
    ({"every_epochs": None, "every_minutes": 1e-9}, 11),   # a checkpoint after every batch
    ({"every_epochs": None, "every_minutes": 1e-9}, 14),   # after an epoch's last batch (7)
])
def test_a_crashed_run_resumed_ends_bit_for_bit_like_an_uninterrupted_one(
        tmp_path, how, checkpoint, crash_at):
    def train(learn, **options):
        if how == "fine_tune":
            learn.fine_tune(2, base_lr=1e-2, freeze_epochs=1, **options)
        else:
            getattr(learn, how)(3, 1e-2, **options)

    plain = _learner(tmp_path / "plain")
    train(plain)
    expected = _state(plain)

    crashed = _learner(tmp_path / "run")
    with pytest.raises(CrashError):
        train(crashed, callbacks=[bm.Checkpoint(**checkpoint), CrashAfter(crash_at)])
    resumed = _learner(tmp_path / "run")       # a new process: everything rebuilt from scratch
    train(resumed, resume="checkpoints")
    _same(_state(resumed), expected)


def test_keep_holds_the_newest_checkpoints_and_they_are_whole(tmp_path):
    learn = _learner(tmp_path)
    saver = bm.Checkpoint(every_epochs=1, keep=2)
    learn.fit_one_cycle(3, 1e-2, callbacks=[saver])
    names = sorted(path.name for path in (tmp_path / "checkpoints").iterdir())
    assert names == ["checkpoint-00000001.safetensors", "checkpoint-00000002.safetensors"]


def test_resume_refuses_another_model_data_or_schedule(tmp_path):
    learn = _learner(tmp_path)
    learn.fit_one_cycle(2, 1e-2, callbacks=[bm.Checkpoint()])
    with pytest.raises(ConfigError, match="the model"):
        bm.tabular_learner(_data(), layers=[32], seed=0, progress=False,
                           path=tmp_path).fit_one_cycle(2, 1e-2, resume="checkpoints")
    with pytest.raises(ConfigError, match="training data"):
        _learner(tmp_path, _data(seed=1)).fit_one_cycle(2, 1e-2, resume="checkpoints")
    with pytest.raises(ConfigError, match="built for 2 epochs"):
        _learner(tmp_path).fit_one_cycle(3, 1e-2, resume="checkpoints")
    with pytest.raises(ConfigError, match="fit method"):
        _learner(tmp_path).fit(2, 1e-2, resume="checkpoints")
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        _learner(tmp_path).fit(2, 1e-2, resume=tmp_path / "empty")


def _collab_learner(path):
    from tests.test_learner_kinds import _ratings

    ratings, _ = _ratings()
    data = bm.collab.CollabData.from_df(ratings, "user", "item", "rating", valid_pct=0.2, seed=0,
                                        bs=64)
    return bm.collab_learner(data, n_factors=4, y_range=(0, 6.5), seed=0, progress=False,
                             path=path)


def _lm_learner(path):
    from briskml.datasets import synthetic_reviews

    data = bm.text.TextData.from_df(synthetic_reviews(96, seed=0), "text", for_lm=True,
                                    valid_pct=0.2, seed=0, bs=4, seq_len=10)
    return bm.language_model_learner(data, config={"emb_sz": 8, "n_hid": 16, "n_layers": 2},
                                     seed=0, progress=False, path=path)


@pytest.mark.parametrize("build", [_collab_learner, _lm_learner], ids=["collab", "language_model"])
@pytest.mark.parametrize("every_minutes", [None, 1e-9], ids=["epoch_end", "mid_epoch"])
def test_collab_and_language_models_resume_bit_for_bit(tmp_path, build, every_minutes):
    plain = build(tmp_path / "plain")
    plain.fit_one_cycle(2, 1e-2)
    expected = _state(plain)
    per_epoch = len(plain.data.train)

    crashed = build(tmp_path / "run")
    with pytest.raises(CrashError):
        crashed.fit_one_cycle(2, 1e-2, callbacks=[
            bm.Checkpoint(every_epochs=1, every_minutes=every_minutes),
            CrashAfter(per_epoch + per_epoch // 2)])
    resumed = build(tmp_path / "run")
    resumed.fit_one_cycle(2, 1e-2, resume="checkpoints")
    _same(_state(resumed), expected)


def test_gradual_unfreezing_resumes_in_its_stage_bit_for_bit(tmp_path):
    from briskml.datasets import synthetic_reviews

    def build(path):
        data = bm.text.TextData.from_df(synthetic_reviews(64, seed=0), "text",
                                        label_col="label", valid_col="is_valid", bs=8)
        return bm.text_classifier_learner(data, config={"emb_sz": 8, "n_hid": 16, "n_layers": 2},
                                          seed=0, progress=False, path=path)

    plain = build(tmp_path / "plain")
    plain.fit_gradual(lr=1e-2, epochs=(1, 1, 1, 1))
    expected = _state(plain)
    crashed = build(tmp_path / "run")
    per_epoch = len(crashed.data.train)
    with pytest.raises(CrashError):   # in the third stage (two groups unfrozen), mid-epoch
        crashed.fit_gradual(lr=1e-2, epochs=(1, 1, 1, 1), callbacks=[
            bm.Checkpoint(every_minutes=1e-9), CrashAfter(per_epoch // 2, stage=2)])
    resumed = build(tmp_path / "run")
    resumed.fit_gradual(lr=1e-2, epochs=(1, 1, 1, 1), resume="checkpoints")
    _same(_state(resumed), expected)


def _start_child(kind, folder):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(root / "src"), str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    script = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
              "import runpy; runpy.run_module('tests.resume_child', run_name='__main__')")
    return subprocess.Popen([sys.executable, "-c", script, kind, str(folder)], cwd=root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_batch(process, number):
    for line in process.stdout:
        if line.strip() == f"batch {number}":
            return
    raise AssertionError(process.stderr.read())


@pytest.mark.parametrize("kind", ["tabular", "collab", "language_model"])
def test_kill_9_mid_epoch_leaves_whole_checkpoints_and_resume_matches(tmp_path, kind):
    import signal

    from tests import resume_child

    plain = resume_child.build(kind, tmp_path / "plain")
    resume_child.train(plain)
    per_epoch = len(plain.data.train)

    process = _start_child(kind, tmp_path / "run")
    _wait_for_batch(process, per_epoch + per_epoch // 2)     # mid-way through the 2nd epoch
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    folder = tmp_path / "run" / "checkpoints"
    for path in folder.iterdir():   # complete, or a temporary file the next write removes
        if path.name.endswith(".tmp"):
            assert path.name.startswith(".checkpoint-")
        else:
            read_bundle(path)
    resumed = resume_child.build(kind, tmp_path / "run")
    resume_child.train(resumed, resume="checkpoints")
    assert not [path for path in folder.iterdir() if path.name.endswith(".tmp")]
    _same(_state(resumed), _state(plain))


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_ctrl_c_finishes_the_batch_writes_a_checkpoint_and_says_how_to_resume(tmp_path, name):
    import signal

    from tests import resume_child

    process = _start_child("tabular", tmp_path / "run")
    _wait_for_batch(process, 3)
    process.send_signal(getattr(signal, name))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert f"{name}: training stopped at epoch 0" in stderr and "resume=" in stderr
    assert "Traceback" not in stderr.split(f"{name}: training stopped")[0]
    plain = resume_child.build("tabular", tmp_path / "plain")
    resume_child.train(plain)
    resumed = resume_child.build("tabular", tmp_path / "run")
    resume_child.train(resumed, resume="checkpoints")
    _same(_state(resumed), _state(plain))


def test_a_second_ctrl_c_stops_at_once_and_leaves_only_whole_checkpoints(tmp_path):
    import signal

    process = _start_child("tabular", tmp_path / "run")
    _wait_for_batch(process, 3)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode != 0
    for path in (tmp_path / "run" / "checkpoints").iterdir():
        if not path.name.endswith(".tmp"):
            read_bundle(path)
