"""CollabLearner: train on ratings, predict with a cold-start fallback, recommend, interpret."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from briskml.callbacks import Callback
from briskml.checks import check_one_of
from briskml.collab.data import CollabData
from briskml.collab.export_checks import check_fits_model
from briskml.collab.interpret import (
    cosine_neighbours,
    plot_pca_map,
    principal_components,
    rank_items,
)
from briskml.collab.lazy_adam import optimizer_for
from briskml.collab.models import (
    EmbeddingDotBias,
    EmbeddingDotBiasConfig,
    EmbeddingHybrid,
    EmbeddingHybridConfig,
    EmbeddingNN,
    EmbeddingNNConfig,
    reads_features,
)
from briskml.collab.pipeline import CollabPipeline, pipeline_state_from_v1
from briskml.data import set_seed
from briskml.errors import BriskWarning, ConfigError, DataError, FileFormatError
from briskml.inference import inference, predict_in_chunks
from briskml.layers import emb_sz_rule
from briskml.learner import Learner
from briskml.losses import loss_from_name, mse_flat
from briskml.metrics import Metric, rmse
from briskml.optim import OptimizerFactory
from briskml.schema import expect_optional, expect_str, fail, in_file

if TYPE_CHECKING:
    from matplotlib.figure import Figure

UNKNOWN_CHOICES = ("fallback", "error")


class FillUnknownRows(Callback):
    """After each training epoch (and after fit), make code 0 the average user and item, so the
    validation and every later prediction treat unseen ids as the model's average one."""

    order = 40
    run_during_lr_find = False

    def after_train(self) -> None:
        """Refresh the unknown rows before validation."""
        self.learn.fill_unknown_rows()

    def after_fit(self) -> None:
        """Refresh them again in case the fit stopped mid-epoch."""
        self.learn.fill_unknown_rows()


class CollabLearner(Learner):
    """A Learner for ratings: `predict(df)`, `recommend`, `similar_items` and lesson 5's
    interpretation (`bias`, `weight`, `top_items`, `pca`, `plot_pca`).

    Build it with `collab_learner`. Ids never seen in training are predicted from what the model
    knows (the average user or item, or its side features) and marked as such in the output.
    """

    kind = "collab"
    pipeline: CollabPipeline

    def __init__(self, data: CollabData, model: nn.Module, loss_func: Any = mse_flat,
                 opt_func: str | OptimizerFactory | None = None,
                 callbacks: Sequence[Callback] = (), **learner_kwargs: Any) -> None:
        if not isinstance(data, CollabData):
            raise ConfigError(f"data must be a CollabData (CollabData.from_df(ratings, ...)); got "
                              f"{type(data).__name__}.")
        super().__init__(data, model, loss_func=loss_func, opt_func=optimizer_for(model, opt_func),
                         callbacks=[*callbacks, FillUnknownRows()], **learner_kwargs)
        self.pipeline = data.pipeline

    # ----- prediction ---------------------------------------------------------------------------
    def predict(self, item: pd.DataFrame, unknown: str = "fallback",
                user_features: pd.DataFrame | None = None,
                item_features: pd.DataFrame | None = None) -> pd.DataFrame:
        """Predicted rating for each (user, item) row of the DataFrame `item`.

        `item` holds the rows to predict, one pair each, in the columns the learner was trained
        with (the argument keeps Learner.predict's name). Returns a new frame indexed like `item`:
        the ids (and title), `prediction`, `unseen` ("", "user", "item" or "user+item": the ids
        not seen in training) and `fallback` (True where an unseen id had no side features the
        model reads, so the prediction uses the average user or item). `unknown="error"` raises
        on unseen ids instead. `user_features` / `item_features` give features of new ids to the
        hybrid model. The caller's frame is not modified.

        Example:
            >>> learn.predict(pd.DataFrame({"userId": [1, 1], "movieId": [1, 999999]}))
        """
        check_one_of(unknown, UNKNOWN_CHOICES, "unknown")
        pipeline = self.pipeline
        pairs = pipeline.code_pairs(item, user_features, item_features)
        if unknown == "error":
            pairs.check_all_seen(pipeline.user_name, pipeline.item_name)
        result = pd.DataFrame({pipeline.user_name: pairs.user_ids,
                               pipeline.item_name: pairs.item_ids}, index=item.index)
        titles = pipeline.titles_of(pairs.item_ids)
        if titles is not None:
            result["title"] = titles
        outputs = predict_in_chunks(self.model, pairs.inputs, self.device)
        result["prediction"] = pipeline.decode(outputs)
        result["unseen"] = pairs.unseen()
        result["fallback"] = pairs.fallback(reads_features(self.model, "user"),
                                            reads_features(self.model, "item"))
        return result

    def predict_table(self, rows: pd.DataFrame, strict: bool = False,
                      text_cols: Sequence[str] | None = None) -> pd.DataFrame:
        """The prediction columns for a DataFrame of (user, item) rows, indexed like `rows`.

        That is `predict`'s output without the columns `rows` already holds (the ids, and the title
        when `rows` has one), as `briskml predict` writes it. `strict` refuses ids never seen in
        training (unknown="error"); `text_cols` is for text classifiers and refused here.

        Example:
            >>> learn.predict_table(pairs)          # title, prediction, unseen, fallback
        """
        if text_cols is not None:
            raise ConfigError("text_cols is for text classifiers; a collab learner reads the user "
                              f"and item columns it was trained on ({self.pipeline.user_name!r}, "
                              f"{self.pipeline.item_name!r}).")
        result = self.predict(rows, unknown="error" if strict else "fallback")
        echoed = [self.pipeline.user_name, self.pipeline.item_name]
        if "title" in rows.columns:
            echoed.append("title")
        return result.drop(columns=echoed, errors="ignore")

    # ----- recommendations ----------------------------------------------------------------------
    def recommend(self, user: Any, n: int = 10, exclude_seen: bool = True,
                  exclude: Sequence[Any] = ()) -> pd.DataFrame:
        """The `n` items with the highest predicted rating for `user` (titles when known).

        `exclude_seen` leaves out what the user rated in training; `exclude` leaves out more ids.
        An unseen user gets the average user's list (with a warning).

        Example:
            >>> learn.recommend(user=42, n=5)
        """
        pipeline = self.pipeline
        candidates = self._candidate_items()
        code = int(pipeline.user_codes([user])[0])
        if code == 0:
            warnings.warn(f"User {user!r} was not seen in training; these are the average user's "
                          "recommendations.", BriskWarning, stacklevel=2)
        left_out = set(exclude)
        if exclude_seen:
            left_out.update(self._seen_ids(code))
        candidates = candidates[~candidates.isin(list(left_out))]
        frame = pd.DataFrame({pipeline.user_name: [user] * len(candidates),
                              pipeline.item_name: candidates})
        scored = self.predict(frame).drop(columns=[pipeline.user_name, "unseen", "fallback"])
        scored["num_ratings"] = self._num_ratings(candidates)
        return scored.nlargest(n, "prediction", keep="first").reset_index(drop=True)

    def _candidate_items(self) -> pd.Index:
        pipeline = self.pipeline
        if pipeline.item_features is not None and reads_features(self.model, "item"):
            return pipeline.items.union(pipeline.item_features.ids, sort=False)
        return pipeline.items

    def _seen_ids(self, code: int) -> list[Any]:
        data = self.data
        if data.train_ratings is None:
            raise ConfigError("This learner was loaded from an export, which does not keep the "
                              "training ratings; pass exclude_seen=False and list the user's "
                              "items in exclude=[...].")
        return data.item_ids(data.seen_items(code)).tolist() if code else []

    def _num_ratings(self, item_ids: Any) -> np.ndarray:
        return self.pipeline.item_counts.numpy()[self.pipeline.item_codes(item_ids)]

    def similar_items(self, item: Any, n: int = 10) -> pd.DataFrame:
        """The `n` items whose factors point the most the same way as `item`'s (cosine).

        Example:
            >>> learn.similar_items(item=1, n=5)
        """
        pipeline = self.pipeline
        factors, _ = self._vectors(pipeline.items, is_item=True)
        query, _ = self._vectors([item], is_item=True, allow_features=True)
        code = int(pipeline.item_codes([item])[0])
        exclude = torch.tensor([code - 1]) if code else None
        positions, similarity = cosine_neighbours(factors, query[0], n, exclude)
        ids = pipeline.items[positions.numpy()]
        result = pd.DataFrame({pipeline.item_name: ids})
        titles = pipeline.titles_of(ids)
        if titles is not None:
            result["title"] = titles
        result["similarity"] = similarity.numpy()
        return result

    # ----- interpretation (lesson 5) ------------------------------------------------------------
    def bias(self, items: Any, is_item: bool = True) -> pd.Series:
        """The learned bias of each item (or user with is_item=False), by id.

        Example:
            >>> learn.bias(learn.top_items(by="num_ratings", n=1000).index)
        """
        ids = _listed(items)
        _, biases = self._vectors(ids, is_item)
        if biases is None:
            raise ConfigError(f"{type(self.model).__name__} has no biases; use "
                              "collab_learner(use_nn=False) for a dot-product model.")
        return pd.Series(biases.numpy(), index=pd.Index(ids), name="bias")

    def weight(self, items: Any, is_item: bool = True) -> pd.DataFrame:
        """The learned factors of each item (or user with is_item=False), one row per id."""
        ids = _listed(items)
        factors, _ = self._vectors(ids, is_item)
        columns = [f"factor_{i}" for i in range(factors.shape[1])]
        return pd.DataFrame(factors.numpy(), index=pd.Index(ids), columns=columns)

    def top_items(self, by: str = "bias", n: int = 15, min_ratings: int = 1,
                  ascending: bool = False) -> pd.DataFrame:
        """Items ranked by `by` ("bias", "mean_rating" or "num_ratings"), with their title, bias,
        mean rating and number of ratings; `ascending=True` gives the lowest.

        Example:
            >>> learn.top_items(by="bias", n=15, min_ratings=50)   # liked beyond their ratings
        """
        pipeline = self.pipeline
        table = pd.DataFrame(index=pd.Index(pipeline.items, name=pipeline.item_name))
        titles = pipeline.titles_of(pipeline.items)
        if titles is not None:
            table["title"] = titles
        _, biases = self._vectors(pipeline.items, is_item=True)
        if biases is not None:
            table["bias"] = biases.numpy()
        codes = np.arange(1, pipeline.n_items)
        table["mean_rating"] = pipeline.item_means.numpy()[codes]
        table["num_ratings"] = pipeline.item_counts.numpy()[codes]
        return rank_items(table, by, n, min_ratings, ascending)

    def pca(self, items: Any = None, n_components: int = 3) -> pd.DataFrame:
        """Each item's position on the principal directions of the items' factors.

        `items` defaults to the 1,000 most-rated, as in the lesson.

        Example:
            >>> learn.pca(n_components=3).sort_values("pc_0").head(10)
        """
        ids = self._most_rated(1000) if items is None else _listed(items)
        factors, _ = self._vectors(ids, is_item=True)
        positions = principal_components(factors, n_components).numpy()
        result = pd.DataFrame(index=pd.Index(ids, name=self.pipeline.item_name))
        titles = self.pipeline.titles_of(ids)
        if titles is not None:
            result["title"] = titles
        for component in range(n_components):
            result[f"pc_{component}"] = positions[:, component]
        return result

    def plot_pca(self, items: Any = None, components: tuple[int, int] = (0, 2),
                 path: str | os.PathLike | None = None, n_labels: int = 50) -> Figure:
        """Scatter of two principal components of the item factors, titles written on the points.

        The directions come from `items` (default the 1,000 most-rated); the `n_labels` most-rated
        of them are drawn, as the lesson does, so the titles stay legible.

        Example:
            >>> learn.plot_pca(components=(0, 2), path="movies_pca.png")
        """
        if len(components) != 2 or min(components) < 0:
            raise ConfigError(f"components must be two component numbers, e.g. (0, 2); got "
                              f"{components!r}.")
        positions = self.pca(items, n_components=max(components) + 1)
        shown = positions.loc[self._by_count(positions.index)[:n_labels]]
        labels = self.pipeline.labels_of(shown.index)
        columns = [f"pc_{c}" for c in range(max(components) + 1)]
        return plot_pca_map(shown[columns].to_numpy(), labels, tuple(components), path)

    def _most_rated(self, n: int) -> list[Any]:
        return self._by_count(self.pipeline.items)[:n]

    def _by_count(self, ids: Any) -> list[Any]:
        ids = pd.Index(ids)
        order = np.argsort(-self._num_ratings(ids), kind="stable")
        return ids[order].tolist()

    def _vectors(self, ids: Any, is_item: bool,
                 allow_features: bool = False) -> tuple[Tensor, Tensor | None]:
        """Factors and biases (None for EmbeddingNN) of known ids, on the CPU."""
        pipeline, model = self.pipeline, self.model
        if not hasattr(model, "item_vectors"):
            raise ConfigError(f"{type(model).__name__} does not expose user/item vectors; "
                              "interpretation needs a briskml collab model.")
        ids, side = _listed(ids), "item" if is_item else "user"
        codes = pipeline.item_codes(ids) if is_item else pipeline.user_codes(ids)
        x, described = pipeline.features_of(side, ids)
        known = codes > 0
        if allow_features and reads_features(model, side):
            known = known | described
        if not known.all():
            unknown = [ids[i] for i in np.flatnonzero(~known)[:5]]
            raise DataError(f"{int((~known).sum())} {side} id(s) were not seen in training, e.g. "
                            f"{unknown}; the model has learned nothing about them.")
        lookup = model.item_vectors if is_item else model.user_vectors
        with inference(model):
            factors, biases = lookup(torch.from_numpy(codes).to(self.device), x.to(self.device))
        return factors.float().cpu(), None if biases is None else biases.float().cpu()

    # ----- unknown rows, export -----------------------------------------------------------------
    def fill_unknown_rows(self) -> None:
        """Set code 0 of each table to the rating-weighted average row (see FillUnknownRows)."""
        if hasattr(self.model, "fill_unknown_rows") and self.data.train_ratings is not None:
            self.model.fill_unknown_rows(self.pipeline.user_counts, self.pipeline.item_counts)

    @classmethod
    def check_export(cls, meta: dict[str, Any], shapes: dict[str, tuple[int, ...]],
                     source: str) -> CollabPipeline:
        """Refuse a collab export whose pipeline is damaged or does not fit its model: every
        field of `meta["pipeline"]` is checked, then the ids (plus the unknown code 0) against
        the embeddings' rows and the feature tables against the hybrid's feature counts, in
        `meta["model"]["config"]` and the tensor `shapes`; a FileFormatError names `source`,
        the field and both numbers."""
        with in_file(source, "pipeline"):
            return _checked_pipeline(meta, shapes)

    @classmethod
    def _from_export(cls, meta: dict[str, Any], model: nn.Module,
                     device: str | torch.device | None,
                     pipeline: CollabPipeline | None = None) -> CollabLearner:
        """A learner for prediction from an export, no ratings: `pipeline` as `check_export`
        returned it, or, without it, the one in meta["pipeline"] checked the same way."""
        if pipeline is None:
            shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
            pipeline = _checked_pipeline(meta, shapes)
        loss = loss_from_name(expect_optional(meta.get("loss"), "loss", expect_str),
                              default=mse_flat)
        return cls(CollabData(pipeline), model, loss_func=loss, device=device, progress=False)

    @classmethod
    def upgrade_v1(cls, meta: dict[str, Any], source: str) -> dict[str, Any]:
        """The JSON of a briskml 0.1.0 export in today's shape: its `extra["data"]` (what 0.1.0's
        CollabData.export_state wrote) becomes the pipeline JSON."""
        extra = meta.get("extra")
        state = extra.get("data") if isinstance(extra, dict) else None
        try:
            pipeline = pipeline_state_from_v1(state)
        except (KeyError, TypeError, ValueError) as error:
            raise FileFormatError(f"'{source}' was exported by briskml 0.1.0 and its collab data "
                                  f"(ids, titles, counts) is missing or damaged ({error}), so "
                                  "this briskml cannot upgrade it; re-export it: train the "
                                  "learner with this briskml and call learn.export().") from None
        return {**meta, "pipeline": pipeline}


def _checked_pipeline(meta: dict[str, Any], shapes: dict[str, tuple[int, ...]]
                      ) -> CollabPipeline:
    """The pipeline of an export's JSON, each field checked, and checked against the model it
    travels with; a SchemaError names the field that does not fit."""
    if meta.get("pipeline") is None:
        raise fail("pipeline", "is missing: a collab export keeps its ids, titles and counts "
                   "there")
    pipeline = CollabPipeline.from_json(meta["pipeline"], "pipeline")
    check_fits_model(pipeline, meta, shapes)
    return pipeline


def collab_learner(data: CollabData, n_factors: int = 50, use_nn: bool = False,
                   layers: Sequence[int] | None = None, y_range: tuple[float, float] | None = None,
                   wd: float | None = None, metrics: Metric | Sequence[Metric] | None = None,
                   use_features: bool = False, emb_szs: tuple[int, int] | None = None,
                   ps: float | Sequence[float] = 0.0, sparse: bool = True,
                   **learner_kwargs: Any) -> CollabLearner:
    """A CollabLearner with a dot-product model (default), an embedding MLP (`use_nn=True`), or the
    hybrid with side features (`use_features=True`); MSE loss and RMSE by default.

    `sparse=True` (default) updates only the embedding rows of each batch, with LazyAdam;
    `sparse=False` gives fastai's dense Adam over every row at every step. `wd` is the lessons'
    weight decay (0.1 on MovieLens). `emb_szs=(user_size, item_size)` overrides the NN's sizes.

    Example:
        >>> learn = collab_learner(data, n_factors=50, y_range=(0, 5.5), wd=0.1)
        >>> learn.fit_one_cycle(5, 5e-3)
    """
    if not isinstance(data, CollabData):
        raise ConfigError(f"data must be a CollabData (CollabData.from_df(ratings, ...)); got "
                          f"{type(data).__name__}.")
    _warn_if_outside(y_range, data.rating_range)
    if learner_kwargs.get("seed") is not None:
        set_seed(learner_kwargs["seed"])   # before the model draws its initial weights
    if use_nn and use_features:
        raise ConfigError("use_nn and use_features cannot be combined; the hybrid model is a "
                          "dot-product model with side features.")
    if use_features:
        model = _hybrid_model(data, n_factors, y_range, sparse)
    elif use_nn:
        model = _nn_model(data, layers, emb_szs, ps, y_range, sparse)
    else:
        model = EmbeddingDotBias(EmbeddingDotBiasConfig(n_factors, data.n_users, data.n_items,
                                                        y_range, sparse))
    metrics = [rmse] if metrics is None else metrics
    return CollabLearner(data, model, metrics=metrics, wd=wd, **learner_kwargs)


def _hybrid_model(data: CollabData, n_factors: int, y_range: tuple[float, float] | None,
                  sparse: bool) -> EmbeddingHybrid:
    if not data.has_features:
        raise ConfigError("use_features=True needs side features: pass user_features and/or "
                          "item_features to CollabData.from_df.")
    user_width = data.user_features.num_features if data.user_features else 0
    item_width = data.item_features.num_features if data.item_features else 0
    return EmbeddingHybrid(EmbeddingHybridConfig(n_factors, data.n_users, data.n_items,
                                                 user_width, item_width, y_range=y_range,
                                                 sparse=sparse))


def _nn_model(data: CollabData, layers: Sequence[int] | None, emb_szs: tuple[int, int] | None,
              ps: float | Sequence[float], y_range: tuple[float, float] | None,
              sparse: bool) -> EmbeddingNN:
    if emb_szs is None:
        emb_szs = (emb_sz_rule(data.n_users), emb_sz_rule(data.n_items))
    if len(emb_szs) != 2:
        raise ConfigError(f"emb_szs must be (user_size, item_size); got {emb_szs!r}.")
    sizes = ((data.n_users, int(emb_szs[0])), (data.n_items, int(emb_szs[1])))
    layers = tuple(layers) if layers is not None else (100, 50)
    # The config checks ps and keeps one value, or makes a list one tuple per layer.
    return EmbeddingNN(EmbeddingNNConfig(sizes, layers, ps, y_range, sparse=sparse))


def _warn_if_outside(y_range: tuple[float, float] | None,
                     observed: tuple[float, float] | None) -> None:
    if y_range is None or observed is None:
        return
    low, high = (float(value) for value in y_range)
    smallest, largest = observed
    if low < smallest and largest < high:
        return
    warnings.warn(f"y_range={tuple(y_range)} does not strictly contain the observed ratings (min "
                  f"{smallest}, max {largest}); a sigmoid never reaches its ends, so predictions "
                  f"cannot get there. Widen it a little, e.g. y_range=({min(low, smallest)}, "
                  f"{max(high, largest) * 1.1:g}) as the lessons use (0, 5.5) for 0.5-5 stars.",
                  BriskWarning, stacklevel=3)


def _listed(ids: Any) -> list[Any]:
    if isinstance(ids, (str, int, np.integer)):
        return [ids]
    return list(ids)
