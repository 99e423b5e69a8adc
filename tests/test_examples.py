"""Each example runs end to end at tiny size."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_sgd_from_scratch_matches_the_learner():
    result = subprocess.run([sys.executable, str(EXAMPLES / "sgd_from_scratch.py"), "--tiny"],
                            capture_output=True, text=True, timeout=300, check=True)
    rows = [line.split() for line in result.stdout.strip().splitlines()[1:]]
    assert [row[0] for row in rows] == ["sgd", "momentum", "adam"]
    for _, by_hand, learner in rows:
        assert float(by_hand) == pytest.approx(float(learner), abs=2e-4)
