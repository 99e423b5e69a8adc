"""Small synthetic tables for the tabular tests (a few hundred rows, learnable in seconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

CAT_NAMES = ["city", "size", "member"]
CONT_NAMES = ["age", "income"]


def make_people(num_rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """People with a city, a t-shirt size (ordered), a member flag, age (some missing), income,
    a class target `bought` ("yes"/"no") and a numeric target `spend` (always positive)."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["Lyon", "Paris", "Nice", "Brest"], num_rows)
    size = pd.Categorical(rng.choice(["S", "M", "L"], num_rows), categories=["S", "M", "L"],
                          ordered=True)
    member = rng.random(num_rows) < 0.4
    age = rng.normal(40, 12, num_rows).round()
    age[rng.random(num_rows) < 0.1] = np.nan
    income = rng.lognormal(10, 0.5, num_rows).round(2)
    score = (city == "Paris") * 1.5 + member * 1.0 + (np.nan_to_num(age, nan=40) - 40) / 10
    bought = np.where(score + rng.normal(0, 0.3, num_rows) > 0.8, "yes", "no")
    spend = np.exp(3 + score / 2 + rng.normal(0, 0.1, num_rows))
    return pd.DataFrame({"city": city, "size": size, "member": member, "age": age,
                         "income": income, "bought": bought, "spend": spend})


@pytest.fixture
def people() -> pd.DataFrame:
    """400 synthetic rows (see make_people)."""
    return make_people()
