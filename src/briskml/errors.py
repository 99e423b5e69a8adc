"""The exceptions briskml raises: each is a BriskError, and also the built-in type that fits."""


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


class BriskWarning(UserWarning):
    """Something was handled for you but deserves a look (unseen categories, emulated bf16 ...)."""
