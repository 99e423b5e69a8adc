"""examples/collab_movielens.py runs end to end at tiny size."""

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "collab_movielens.py"


def test_the_movielens_example_runs_tiny(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLE), "--tiny", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, check=True)
    assert "Top recommendations for user" in result.stdout
    assert "The hybrid reads the new movie's genres and year" in result.stdout
    for name in ("lr_find.png", "movies_pca.png", "movielens.brisk"):
        assert (tmp_path / name).is_file()
