"""The README's Python examples run, in order, in one namespace, so they never rot."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_has_python_examples():
    assert len(python_blocks(README.read_text(encoding="utf-8"))) >= 5


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write plots and models into the working directory
    monkeypatch.setenv("BRISKML_CACHE", str(tmp_path / "cache"))  # keep ~/.cache untouched
    namespace: dict = {}
    for number, block in enumerate(python_blocks(README.read_text(encoding="utf-8")), start=1):
        code = compile(block, f"README.md python block {number}", "exec")
        exec(code, namespace)  # running our own documentation is the point
    for written in ("classifier.brisk", "lr_find.png", "adult.brisk", "movies.brisk",
                    "collab_pca.png", "reviews_clas.textdata"):
        assert (tmp_path / written).exists(), written


def test_readme_shows_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
