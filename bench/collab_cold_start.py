"""Cold start on MovieLens latest-small: RMSE on users and items never seen in training.

Items: every rating of the 972 movies in ../shared/splits/mllatest_cold_items.json is held out; we
train on the rest and score the held-out ratings with
  - the global mean of the training ratings;
  - the bias fallback: the lesson's dot-product model, which predicts an unseen movie as the
    average movie (its rows weighted by their number of ratings) for each user;
  - the hybrid: the same model plus a small network over the movies' genres and the year in their
    title (collab_learner(use_features=True)), so an unseen movie gets a personal prediction.
Users: 10% of the users (numpy RandomState(0)) are held out with all their ratings; global mean
and the fallback (the average user with each movie's learned bias and factors). MovieLens
latest-small has no user attributes; its tags come from 58 users only (see `user_signal` in the
results), so there is no user feature for the hybrid to use and only the fallback applies.
fastai's figures on the same held-out movies come from ../shared/peers/results.json.

Usage: python bench/collab_cold_start.py [--bs 64] [--epochs 5] [--seeds 42 0 1] [--threads N]
Writes bench/results/collab_cold_start.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from machine import cpu_info

from briskml.collab import CollabData, collab_learner
from briskml.collab.sample import movie_features
from briskml.persist import write_json

SHARED = Path(__file__).resolve().parents[2] / "shared"
MOVIELENS = SHARED / "data" / "movielens-latest-small"
COLD_ITEMS = SHARED / "splits" / "mllatest_cold_items.json"
PEERS = SHARED / "peers" / "results.json"
RESULTS = Path(__file__).parent / "results" / "collab_cold_start.json"
RECIPE = {"n_factors": 50, "y_range": (0, 5.5), "wd": 0.1}
HELD_OUT_USERS_PCT, USERS_SEED = 0.1, 0


def rmse(predictions: np.ndarray, targets: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predictions - targets) ** 2)))


def evaluate(ratings: pd.DataFrame, held_out: np.ndarray, features: pd.DataFrame | None,
             args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """Train on the rows not held out; RMSE of the model (fallback or hybrid) on the held-out."""
    data = CollabData.from_df(ratings, valid_idx=np.flatnonzero(held_out), bs=args.bs,
                              item_features=features)
    learn = collab_learner(data, use_features=features is not None, seed=seed, progress=False,
                           **RECIPE)
    start = time.perf_counter()
    learn.fit_one_cycle(args.epochs, args.lr)
    seconds = time.perf_counter() - start
    result = learn.predict(ratings[held_out])
    targets = ratings.loc[held_out, "rating"].to_numpy()
    return {"seed": seed, "rmse": rmse(result["prediction"].to_numpy(), targets),
            "fallback_rows": int(result["fallback"].sum()), "rows": int(held_out.sum()),
            "fit_s": seconds}


def repeated(ratings: pd.DataFrame, held_out: np.ndarray, features: pd.DataFrame | None,
             args: argparse.Namespace) -> dict[str, Any]:
    runs = [evaluate(ratings, held_out, features, args, seed) for seed in args.seeds]
    values = [run["rmse"] for run in runs]
    return {"rmse_mean": statistics.mean(values),
            "rmse_stdev": statistics.stdev(values) if len(values) > 1 else 0.0, "runs": runs}


def global_mean(ratings: pd.DataFrame, held_out: np.ndarray) -> float:
    mean = ratings.loc[~held_out, "rating"].mean()
    return rmse(np.full(int(held_out.sum()), mean), ratings.loc[held_out, "rating"].to_numpy())


def cold_items(ratings: pd.DataFrame, movies: pd.DataFrame,
               args: argparse.Namespace) -> dict[str, Any]:
    cold = json.loads(COLD_ITEMS.read_text())["cold_items"]
    held_out = ratings["movieId"].isin(cold).to_numpy()
    result = {"held_out_movies": len(cold), "held_out_ratings": int(held_out.sum()),
              "global_mean_rmse": global_mean(ratings, held_out)}
    result["bias_fallback"] = repeated(ratings, held_out, None, args)
    print(f"items: fallback {result['bias_fallback']['rmse_mean']:.4f}", flush=True)
    result["hybrid_genres_year"] = repeated(ratings, held_out, movie_features(movies), args)
    print(f"items: hybrid {result['hybrid_genres_year']['rmse_mean']:.4f}", flush=True)
    return result


def cold_users(ratings: pd.DataFrame, tags: pd.DataFrame,
               args: argparse.Namespace) -> dict[str, Any]:
    users = np.sort(ratings["userId"].unique())
    chosen = np.random.RandomState(USERS_SEED).choice(
        users, int(HELD_OUT_USERS_PCT * len(users)), replace=False)
    held_out = ratings["userId"].isin(chosen).to_numpy()
    result = {"held_out_users": len(chosen), "held_out_ratings": int(held_out.sum()),
              "selection": f"numpy.random.RandomState({USERS_SEED}).choice(sorted userIds, "
                           f"{HELD_OUT_USERS_PCT:.0%}, replace=False)",
              "global_mean_rmse": global_mean(ratings, held_out)}
    result["fallback"] = repeated(ratings, held_out, None, args)
    print(f"users: fallback {result['fallback']['rmse_mean']:.4f}", flush=True)
    tagging = set(tags["userId"])
    result["user_signal"] = {
        "user_attributes": "none in MovieLens latest-small",
        "users_with_tags": len(tagging), "held_out_users_with_tags": len(tagging & set(chosen)),
        "conclusion": "too few users tag movies to make a user feature; only the fallback applies",
    }
    return result


def references() -> dict[str, Any]:
    peers = json.loads(PEERS.read_text())
    fastai = peers["collab_fastai_mllatest_cold_items"]["summary"]
    numpy_results = peers["collab_surprise_mllatest_cold_items"]["results"]["numpy"]
    return {"fastai_bs64_rmse": fastai["bs64"]["valid_rmse"][0],
            "fastai_bs64_seed_mean": fastai["bs64"]["seed_sweep"]["mean"],
            "fastai_bs1024_rmse": fastai["bs1024"]["valid_rmse"][0],
            "global_mean_rmse": numpy_results["global_mean"]["valid_rmse"],
            "mean_plus_user_bias_rmse": numpy_results["mean_plus_user_item_bias_als"]["valid_rmse"],
            "source": str(PEERS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bs", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 0, 1])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not (MOVIELENS.exists() and COLD_ITEMS.exists()):
        sys.exit(f"Needs {MOVIELENS} and {COLD_ITEMS} (the shared data).")
    ratings = pd.read_csv(MOVIELENS / "ratings.csv")
    movies = pd.read_csv(MOVIELENS / "movies.csv")
    tags = pd.read_csv(MOVIELENS / "tags.csv")
    document = {
        "command": "python bench/collab_cold_start.py " + " ".join(sys.argv[1:]),
        "recipe": {**RECIPE, "bs": args.bs, "epochs": args.epochs, "lr": args.lr,
                   "seeds": args.seeds},
        "items": cold_items(ratings, movies, args),
        "users": cold_users(ratings, tags, args),
        "targets": {"hybrid_items_rmse_max": 0.910},
        "references": references(),
        "machine": {"cpu": cpu_info(),
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "torch": torch.__version__, "loadavg_1_5_15": list(os.getloadavg())},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS, document)  # atomic
    print(json.dumps({key: document[key] for key in ("items", "users")}, indent=2)[:3000])


if __name__ == "__main__":
    main()
