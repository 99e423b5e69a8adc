from briskml.cli.demos.tabular import run_demo
from briskml.datasets import adult_sample


def test_the_bundled_adult_sample_has_the_lessons_columns():
    df = adult_sample()
    assert df.shape == (5000, 15)
    assert set(df["salary"]) == {"<50k", ">=50k"}
    assert df["education-num"].isna().any()  # so FillMissing has work to do
    assert not df["workclass"].str.startswith(" ").any()


def test_the_quick_demo_trains_and_saves_its_plots(tmp_path, capsys):
    result = run_demo(quick=True, out=tmp_path)
    assert result.metrics["accuracy"] > 0.78
    assert (tmp_path / "tabular_lr_find.png").is_file()
    assert (tmp_path / "tabular_loss.png").is_file()
    assert "train_loss" in capsys.readouterr().out
