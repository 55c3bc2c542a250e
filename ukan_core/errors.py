"""Errors raised by ukan_core; `str(error)` is always one line a person can act on."""

from __future__ import annotations

from pathlib import Path


class UkanError(Exception):
    """Base class of every error ukan_core raises on purpose (bad input, bad file, cancel)."""


class BadImageError(UkanError):
    """An image file that cannot be read: `"<file name>: <problem>"`."""


class CheckpointError(UkanError):
    """A model file that is not a checkpoint, needs code to load, or does not fit the model."""


class DatasetError(UkanError):
    """A labelled folder with a missing, mismatched or unreadable pair, or no usable pair at all."""


class StoreError(UkanError):
    """A model-store operation that cannot be done (unknown version, read-only bundled model)."""


class TrainingDiverged(UkanError):
    """The loss became NaN or infinite; the previous weights were kept."""


class Cancelled(UkanError):
    """The caller cancelled a long operation through its CancelToken."""


class OutputExistsError(UkanError):
    """An output file already exists and the caller did not ask to overwrite it."""


class ModelNotSavedError(UkanError):
    """A trained model could not be written where asked (disk full, no permission).

    `rescued` is where the weights were saved instead (None when nowhere had room).
    """

    def __init__(self, message: str, rescued: Path | None = None) -> None:
        super().__init__(message)
        self.rescued = rescued
