"""Collaborative filtering: ratings data, dot-product / MLP / hybrid models, a learner that
recommends and explains, and a cold-start fallback for users and items never seen in training."""

from briskml.collab.data import CollabData, CollabLoader
from briskml.collab.lazy_adam import LazyAdam, lazy_adam
from briskml.collab.learner import CollabLearner, collab_learner
from briskml.collab.models import (
    EmbeddingDotBias,
    EmbeddingDotBiasConfig,
    EmbeddingHybrid,
    EmbeddingHybridConfig,
    EmbeddingNN,
    EmbeddingNNConfig,
)
from briskml.collab.pipeline import CollabPipeline
from briskml.collab.sample import movie_features, movielens_sample

__all__ = [
    "CollabData",
    "CollabLearner",
    "CollabLoader",
    "CollabPipeline",
    "EmbeddingDotBias",
    "EmbeddingDotBiasConfig",
    "EmbeddingHybrid",
    "EmbeddingHybridConfig",
    "EmbeddingNN",
    "EmbeddingNNConfig",
    "LazyAdam",
    "collab_learner",
    "lazy_adam",
    "movie_features",
    "movielens_sample",
]
