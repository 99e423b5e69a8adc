"""Tabular data: processors, TabularData, the embedding model and tabular_learner."""

from briskml.tabular.columns import add_datepart, cont_cat_split
from briskml.tabular.data import TabularData
from briskml.tabular.learner import TabularLearner, tabular_learner
from briskml.tabular.model import TabularModel, TabularModelConfig, emb_sz_rule
from briskml.tabular.pipeline import TabularPipeline
from briskml.tabular.procs import Categorify, FillMissing, Normalize

__all__ = [
    "Categorify",
    "FillMissing",
    "Normalize",
    "TabularData",
    "TabularLearner",
    "TabularModel",
    "TabularModelConfig",
    "TabularPipeline",
    "add_datepart",
    "cont_cat_split",
    "emb_sz_rule",
    "tabular_learner",
]
