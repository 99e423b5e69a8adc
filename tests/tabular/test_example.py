"""examples/tabular_adult.py runs end to end at tiny size."""

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular_adult.py"


def test_the_adult_example_runs_tiny():
    result = subprocess.run([sys.executable, str(EXAMPLE), "--tiny"], capture_output=True,
                            text=True, timeout=300, check=True)
    assert "validation: {'valid_loss'" in result.stdout
    assert "unseen category:" in result.stdout and "workclass: 1 unseen category" in result.stdout
    assert "predictions identical after load_learner: True" in result.stdout
