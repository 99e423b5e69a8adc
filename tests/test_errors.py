"""briskml.errors: BriskWarning points at the user's line, however many briskml calls it went
through."""

import warnings

import pandas as pd

import briskml as bm
from briskml.errors import BriskWarning, warn


def test_a_warning_points_at_the_line_that_called_briskml():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn("direct")
        assert caught[-1].filename == __file__
        texts = pd.Series(["a film", None])
        bm.text.Tokenizer().tokenize(texts.tolist())   # missing texts: warned through several calls
    ours = [item for item in caught if issubclass(item.category, BriskWarning)]
    assert len(ours) == 2 and all(item.filename == __file__ for item in ours)
