import csv

import pytest

import briskml as bm
from briskml.errors import ConfigError


def test_early_stopping_stops_after_patience_epochs_without_improvement(make_learner):
    stopper = bm.EarlyStopping(monitor="valid_loss", patience=2, min_delta=1e9)
    learn = make_learner(callbacks=[stopper])
    learn.fit(10, 1e-3)
    # epoch 0 improves on infinity; epochs 1 and 2 do not
    assert len(learn.recorder.values) == 3


def test_early_stopping_guesses_the_direction_from_the_metric(make_learner):
    stopper = bm.EarlyStopping(monitor="r2")
    learn = make_learner(metrics=[bm.r2], callbacks=[stopper])
    learn.fit(1)
    assert stopper.lower_is_better is False
    stopper_loss = bm.EarlyStopping(monitor="valid_loss")
    make_learner(callbacks=[stopper_loss]).fit(1)
    assert stopper_loss.lower_is_better is True


def test_monitoring_an_unknown_column_is_explained(make_learner):
    learn = make_learner(callbacks=[bm.EarlyStopping(monitor="accuracy")])
    with pytest.raises(ConfigError, match="cannot monitor 'accuracy'"):
        learn.fit(1)


def test_save_best_model_restores_the_best_epoch(make_learner):
    # "best" by the largest valid_loss: the first epoch, so the final weights must be replaced
    saver = bm.SaveBestModel(monitor="valid_loss", comp="max", fname="best")
    learn = make_learner(callbacks=[saver])
    learn.fit(3, 1e-2)
    assert saver.best_epoch == 0
    assert (learn.path / "models" / "best.safetensors").is_file()
    assert learn.validate()["valid_loss"] == pytest.approx(learn.recorder.values[0]["valid_loss"])


def test_csv_logger_appends_one_row_per_epoch_under_one_header(make_learner):
    learn = make_learner(metrics=[bm.rmse], callbacks=[bm.CSVLogger("history.csv")])
    learn.fit(2)
    learn.fit(1)
    rows = list(csv.reader((learn.path / "history.csv").open()))
    assert rows[0] == ["epoch", "train_loss", "valid_loss", "rmse", "time"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "0"]


def test_csv_logger_keeps_an_old_log_with_other_columns(make_learner):
    make_learner(metrics=[bm.rmse], callbacks=[bm.CSVLogger("log.csv")]).fit(1)
    learn = make_learner(metrics=[bm.mae], callbacks=[bm.CSVLogger("log.csv")])
    with pytest.raises(ConfigError, match="already logs columns"):
        learn.fit(1)
    assert "rmse" in (learn.path / "log.csv").read_text()


def test_csv_logger_file_stays_readable_while_training(make_learner):
    class ReadLog(bm.Callback):
        order = 70

        def after_epoch(self):
            self.text = (self.learn.path / "live.csv").read_text()

    reader = ReadLog()
    make_learner(callbacks=[bm.CSVLogger("live.csv"), reader]).fit(1)
    assert reader.text.count("\n") == 2
