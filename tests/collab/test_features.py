import numpy as np
import pandas as pd
import pytest
import torch

from briskml.collab.features import FeatureEncoder, FeatureTable, fit_encoder
from briskml.errors import DataError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"year": [1990.0, 2000.0, np.nan], "genre": ["a", "b", None],
                         "flag": [True, False, True]})


def test_numbers_are_standardised_and_missing_becomes_the_mean(frame):
    encoder = fit_encoder(frame, "features")
    encoded = encoder.encode(frame)
    assert torch.allclose(encoded[:, 0], torch.tensor([-1.0, 1.0, 0.0]))


def test_text_becomes_one_hot_and_unknown_or_missing_is_all_zeros(frame):
    encoder = fit_encoder(frame, "features")
    encoded = encoder.encode(pd.DataFrame({"year": [1995.0] * 3, "genre": ["b", "zzz", None],
                                           "flag": [False] * 3}))
    assert encoded[:, 1:3].tolist() == [[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]


def test_booleans_become_zero_or_one(frame):
    encoded = fit_encoder(frame, "features").encode(frame)
    assert encoded[:, 3].tolist() == [1.0, 0.0, 1.0]


def test_the_fitted_encoding_survives_json(frame):
    encoder = fit_encoder(frame, "features")
    again = FeatureEncoder.from_json(encoder.to_json())
    assert torch.equal(again.encode(frame), encoder.encode(frame))


def test_a_table_survives_json_with_missing_values(frame):
    table = FeatureTable(pd.Index([7, 8, 9]), frame, fit_encoder(frame, "features"))
    again = FeatureTable.from_json(table.to_json())
    assert torch.equal(again.table, table.table)
    assert table.table[0].abs().sum() == 0           # row 0: no features


def test_lookup_prefers_given_features_for_new_ids(frame):
    table = FeatureTable(pd.Index([7, 8, 9]), frame, fit_encoder(frame, "features"))
    extra = pd.DataFrame({"year": [2000.0], "genre": ["a"], "flag": [False]}, index=[42])
    rows, known = table.lookup([7, 42, 43], extra)
    assert known.tolist() == [True, True, False]
    assert rows[1].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert rows[2].abs().sum() == 0


def test_a_column_briskml_cannot_encode_is_named():
    frame = pd.DataFrame({"when": pd.to_datetime(["2020-01-01", "2021-01-01"])})
    with pytest.raises(DataError, match="column 'when' has dtype datetime64"):
        fit_encoder(frame, "item_features")


def test_a_missing_feature_column_is_named(frame):
    encoder = fit_encoder(frame, "features")
    with pytest.raises(DataError, match=r"lacks column\(s\) \['genre'\]"):
        encoder.encode(frame.drop(columns="genre"))


def test_an_infinite_or_overflowing_value_is_refused_with_the_count(frame):
    encoder = fit_encoder(frame, "features")
    new = pd.DataFrame({"year": [np.inf, 1e300, 2000.0], "genre": ["a"] * 3, "flag": [True] * 3})
    with pytest.raises(DataError, match=r"'year' has 2 value\(s\) that are infinite or too "
                                        r"large to encode as float32, e\.g\. inf"):
        encoder.encode(new)


def test_text_in_a_numeric_feature_is_refused_not_read_as_missing(frame):
    encoder = fit_encoder(frame, "features")
    new = pd.DataFrame({"year": ["1995", "soon"], "genre": ["a", "b"], "flag": [True, False]})
    with pytest.raises(DataError, match=r"'year' holds non-numeric values, e\.g\. 'soon'"):
        encoder.encode(new)


def test_values_too_large_to_standardise_are_refused():
    with pytest.raises(DataError, match="'big' has values too large to standardise"):
        fit_encoder(pd.DataFrame({"big": [1e308, -1e308, 1.0]}), "item_features")
