"""The fast.ai tabular lesson on Adult census data, through briskml, end to end.

  1. read the table and name the categorical and continuous columns;
  2. TabularData.from_df: FillMissing, Categorify, Normalize fitted on the training rows;
  3. tabular_learner(layers=[200, 100]): lr_find, then fit_one_cycle;
  4. predict on a DataFrame and on one row, with an unseen category;
  5. the learned entity embeddings, and export / load_learner.

It uses ../shared/data/adult/adult.csv with its fixed validation rows when that folder exists (the
benchmark's recipe, 8 categorical + 6 continuous columns), else the bundled 5,000-row sample with
the lesson's columns. --tiny trains one short epoch on 1,000 sample rows (for the tests).

Run: python examples/tabular_adult.py [--tiny] [--epochs 5] [--bs 1024]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import pandas as pd

import briskml as bm
from briskml.datasets import ADULT_CAT_NAMES, ADULT_CONT_NAMES, adult_sample
from briskml.tabular import TabularData, tabular_learner

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ADULT = SHARED / "data" / "adult" / "adult.csv"
SPLIT = SHARED / "splits" / "adult_valid_idx.json"
FULL_CAT_NAMES = ["workclass", "education", "marital-status", "occupation", "relationship",
                  "race", "sex", "native-country"]
FULL_CONT_NAMES = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss",
                   "hours-per-week"]


def load(tiny: bool, bs: int) -> tuple[pd.DataFrame, TabularData]:
    """The full Adult data with the shared split when present, else the bundled sample."""
    if not tiny and ADULT.exists() and SPLIT.exists():
        df = pd.read_csv(ADULT, skipinitialspace=True)  # UCI writes " Private": drop the space
        valid_idx = json.loads(SPLIT.read_text())["valid_idx"]
        data = TabularData.from_df(df, y="salary", cat_names=FULL_CAT_NAMES,
                                   cont_names=FULL_CONT_NAMES, valid_idx=valid_idx, bs=bs)
        return df, data
    df = adult_sample()
    if tiny:
        df = df.head(1000)
    data = TabularData.from_df(df, y="salary", cat_names=ADULT_CAT_NAMES,
                               cont_names=ADULT_CONT_NAMES, valid_pct=0.2, seed=42,
                               bs=min(bs, 256))
    return df, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="one short epoch on 1,000 rows")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--bs", type=int, default=1024)
    args = parser.parse_args()
    df, data = load(args.tiny, args.bs)
    print(data)
    print(data.show_batch(5).to_string())

    learn = tabular_learner(data, layers=[200, 100], metrics=bm.accuracy, seed=42)
    suggestion = learn.lr_find(num_it=30 if args.tiny else 100)
    print(f"lr_find: valley {suggestion.valley:.1e}, minimum {suggestion.minimum:.1e}")
    learn.fit_one_cycle(1 if args.tiny else args.epochs, 1e-2)
    print("validation:", learn.validate())

    rows = df.head(5)
    print(learn.predict(rows).to_string())
    print(learn.predict(df.iloc[0]).to_string())  # one row, as a Series
    stranger = rows.head(1).assign(workclass="Astronaut")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn.predict(stranger)
    print("unseen category:", caught[0].message if caught else "no warning")

    workclass = learn.embeddings()["workclass"]
    print(f"workclass embedding: {workclass.shape[0]} categories x {workclass.shape[1]}")
    with tempfile.TemporaryDirectory() as folder:
        path = learn.export(Path(folder) / "adult.brisk")
        loaded = bm.load_learner(path)
        same = loaded.predict(rows, unknown="ignore").equals(learn.predict(rows))
        print(f"exported to {path.name}; predictions identical after load_learner: {same}")


if __name__ == "__main__":
    main()
