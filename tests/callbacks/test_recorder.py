import pytest
from matplotlib.figure import Figure

import briskml as bm
from briskml.errors import ConfigError

PNG_MAGIC = b"\x89PNG"


def test_recorder_keeps_per_batch_losses_and_per_epoch_values(make_learner):
    learn = make_learner(metrics=[bm.rmse])
    learn.fit_one_cycle(2, 1e-2)
    recorder = learn.recorder
    batches = 2 * len(learn.data.train)
    assert len(recorder.losses) == len(recorder.lrs) == len(recorder.moms) == batches
    assert [row["epoch"] for row in recorder.values] == [0, 1]
    assert set(recorder.values[0]) == {"epoch", "train_loss", "valid_loss", "rmse", "time"}
    first_epoch = recorder.losses[:len(learn.data.train)]
    # train_loss is the size-weighted mean of the epoch's batch losses (the batches are equal here)
    assert recorder.values[0]["train_loss"] == pytest.approx(sum(first_epoch) / len(first_epoch))


def test_a_new_fit_starts_a_new_history(make_learner):
    learn = make_learner()
    learn.fit(2)
    learn.fit(1)
    assert [row["epoch"] for row in learn.recorder.values] == [0]


@pytest.mark.parametrize("plot", ["plot_loss", "plot_sched", "plot_lr_find"])
def test_plots_return_a_figure_and_write_a_png(make_learner, tmp_path, plot):
    learn = make_learner()
    learn.lr_find(num_it=20)
    learn.fit_one_cycle(2, 1e-2)
    path = tmp_path / f"{plot}.png"
    figure = getattr(learn.recorder, plot)(path)
    assert isinstance(figure, Figure)
    assert path.read_bytes()[:4] == PNG_MAGIC


@pytest.mark.parametrize("plot", ["plot_loss", "plot_sched", "plot_lr_find"])
def test_plotting_before_training_says_what_to_do(make_learner, plot):
    with pytest.raises(ConfigError, match="call"):
        getattr(make_learner().recorder, plot)()
