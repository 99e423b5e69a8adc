"""briskml: fast, safe deep learning for tables, ratings and text, with the fast.ai techniques."""

from briskml.callbacks import (
    Callback,
    CancelBatch,
    CancelEpoch,
    CancelFit,
    Checkpoint,
    CSVLogger,
    EarlyStopping,
    GradientClip,
    LRFindResult,
    MixedPrecision,
    SaveBestModel,
)
from briskml.collab import collab_learner
from briskml.data import DataLoaders, TensorLoader, set_seed
from briskml.errors import (
    BriskError,
    BriskWarning,
    ConfigError,
    DataError,
    FileFormatError,
    TrainingDiverged,
    TrainingInterrupted,
)
from briskml.export import load_learner
from briskml.layers import MLP, MLPConfig
from briskml.learner import Learner
from briskml.losses import bce_with_logits_flat, cross_entropy_flat, mse_flat
from briskml.metrics import (
    F1Score,
    Metric,
    TopKAccuracy,
    accuracy,
    error_rate,
    f1,
    mae,
    mse,
    perplexity,
    r2,
    rmse,
    roc_auc,
    top_k_accuracy,
)
from briskml.tabular import tabular_learner
from briskml.text import language_model_learner, text_classifier_learner

__version__ = "0.3.0"

__all__ = [
    "MLP",
    "BriskError",
    "BriskWarning",
    "CSVLogger",
    "Callback",
    "CancelBatch",
    "CancelEpoch",
    "CancelFit",
    "Checkpoint",
    "ConfigError",
    "DataError",
    "DataLoaders",
    "EarlyStopping",
    "F1Score",
    "FileFormatError",
    "GradientClip",
    "LRFindResult",
    "Learner",
    "MLPConfig",
    "Metric",
    "MixedPrecision",
    "SaveBestModel",
    "TensorLoader",
    "TopKAccuracy",
    "TrainingDiverged",
    "TrainingInterrupted",
    "__version__",
    "accuracy",
    "bce_with_logits_flat",
    "collab_learner",
    "cross_entropy_flat",
    "error_rate",
    "f1",
    "language_model_learner",
    "load_learner",
    "mae",
    "mse",
    "mse_flat",
    "perplexity",
    "r2",
    "rmse",
    "roc_auc",
    "set_seed",
    "tabular_learner",
    "text_classifier_learner",
    "top_k_accuracy",
]
