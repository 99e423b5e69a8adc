import math

import pytest

from briskml.callbacks.progress import format_time, format_value


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "00:00"), (61, "01:01"), (3725, "01:02:05")])
def test_times_read_like_the_lessons_table(seconds, text):
    assert format_time(seconds) == text


def test_values_read_with_six_decimals():
    assert format_value(0.1234567) == "0.123457"
    assert format_value(3) == "3"
    assert format_value(math.nan) == "nan"
    assert format_value(None) == "None"


def test_bars_go_to_stderr_and_rows_to_stdout(make_learner, capsys):
    learn = make_learner(progress=True)
    learn.fit(1)
    captured = capsys.readouterr()
    assert "train_loss" in captured.out
    assert "train_loss" not in captured.err
