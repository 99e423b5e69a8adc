"""examples/ulmfit_imdb.py runs its three stages, both directions and the ensemble, at tiny size."""

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ulmfit_imdb.py"


def run_example(*flags: str) -> subprocess.CompletedProcess:
    # BRISKML_CACHE comes from the autouse fixture, OMP_NUM_THREADS=1 from tests/conftest.py.
    return subprocess.run([sys.executable, str(EXAMPLE), *flags], capture_output=True,
                          text=True, timeout=300)


def test_the_ulmfit_example_runs_tiny_in_both_directions(tmp_path):
    result = run_example("--tiny", "--backwards", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    stdout = result.stdout
    for direction in ("fwd", "bwd"):
        assert f"A review by the {direction} language model:" in stdout
        assert re.search(rf"fine-tune LM on the reviews \({direction}\).*perplexity [\d.]+ -> "
                         r"[\d.]+", stdout)
        accuracy = re.search(rf"classifier, gradual unfreezing \({direction}\).*accuracy "
                             r"(\d\.\d+)", stdout)
        assert accuracy and 0.0 <= float(accuracy.group(1)) <= 1.0
        assert (tmp_path / "models" / f"{direction}_enc.safetensors").is_file()
        assert (tmp_path / f"tiny_general_lm_{direction}.brisk").is_file()
    assert re.search(r"ensemble of fwd \+ bwd\s+accuracy \d\.\d+", stdout)
    assert "Summary: tiny run" in stdout and "total" in stdout


def test_missing_imdb_data_names_the_option_to_pass(tmp_path):
    result = run_example("--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path))
    assert result.returncode != 0
    assert "No IMDb file at" in result.stderr and "--data PATH" in result.stderr
    assert "Traceback" not in result.stderr
