"""Callbacks: the event system and the stock callbacks."""

from briskml.callbacks.checkpointing import Checkpoint
from briskml.callbacks.core import EVENTS, Callback, CancelBatch, CancelEpoch, CancelFit
from briskml.callbacks.lr_finder import LRFinder, LRFindResult, suggest_learning_rates
from briskml.callbacks.progress import ProgressCallback
from briskml.callbacks.recorder import Recorder
from briskml.callbacks.schedule import ParamScheduler
from briskml.callbacks.tracking import CSVLogger, EarlyStopping, SaveBestModel
from briskml.callbacks.training import DivergenceGuard, GradientClip, MixedPrecision

__all__ = [
    "EVENTS",
    "CSVLogger",
    "Callback",
    "CancelBatch",
    "CancelEpoch",
    "CancelFit",
    "Checkpoint",
    "DivergenceGuard",
    "EarlyStopping",
    "GradientClip",
    "LRFindResult",
    "LRFinder",
    "MixedPrecision",
    "ParamScheduler",
    "ProgressCallback",
    "Recorder",
    "SaveBestModel",
    "suggest_learning_rates",
]
