from briskml.cli.demos.collab import run_demo


def test_the_quick_demo_trains_and_saves_its_plots(tmp_path, capsys):
    result = run_demo(quick=True, out=tmp_path)
    assert result.metrics["rmse"] < 0.95            # predicting the mean scores 0.97
    assert (tmp_path / "collab_lr_find.png").is_file() and (tmp_path / "collab_loss.png").is_file()
    printed = capsys.readouterr().out
    assert "train_loss" in printed and "recommendations" in printed
