"""The exceptions briskml raises: each is a BriskError, and also the built-in type that fits; and
`warn`, which points a BriskWarning at the user's line."""

import os
import sys
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class BriskError(Exception):
    """Base class of every error briskml raises on purpose."""


class ConfigError(BriskError, ValueError):
    """An argument or configuration value is invalid; the message names it and the valid choices."""


class DataError(BriskError, ValueError):
    """Input data is unusable as given; the message names the column, tensor or file and the fix."""


class FileFormatError(BriskError, ValueError):
    """A file is not a briskml file, is damaged, or does not match the model it is loaded into."""


class TrainingDiverged(BriskError, RuntimeError):  # noqa: N818 -- the name the issue gives
    """The training loss became NaN or infinite; the model is restored to the epoch's start."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped fit after a batch, once a checkpoint was written (the message
    says where and how to resume); a KeyboardInterrupt, so a script stops as it would."""


class BriskWarning(UserWarning):
    """Something was handled for you but deserves a look (unseen categories, emulated bf16 ...)."""


def warn(message: str) -> None:
    """Issue a BriskWarning attributed to the first caller outside the briskml package: the same
    warning is reached through different numbers of briskml calls (`predict`, `from_df` ...),
    and it should point at the user's line, not ours."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, BriskWarning, stacklevel=level + 1)   # + 1: this frame
