"""Errors a user can fix. The CLI turns these into one line on stderr and exit code 2.

Each message says what is wrong, what was expected, and ends with `Received: name=value`. They
subclass `ValueError` so library callers can catch them the ordinary way.
"""


class TfllmError(ValueError):
    """Base class: bad input that the user can fix (not a bug in tfllm)."""


class ConfigError(TfllmError):
    """Unknown preset, unknown or ill-typed config key."""


class CorpusError(TfllmError):
    """Missing, empty or undecodable corpus."""


class TokenizerError(TfllmError):
    """Missing or malformed tokenizer files, or a tokenizer that does not match a model."""


class ModelLoadError(TfllmError):
    """A model directory that is missing, incomplete or corrupt."""


class TrainingError(TfllmError):
    """A run that cannot go on: a loss that became NaN or infinite (the last good checkpoint is kept)."""


class OutputPathError(TfllmError):
    """An output path that tfllm may not write: it holds files tfllm did not write, is a file
    without --overwrite, holds or lies inside a protected directory, or cannot be written."""


class GenerationError(TfllmError):
    """Invalid generation arguments (prompt, lengths, sampling parameters)."""


class WordVectorsError(TfllmError):
    """A vectors file that is missing, malformed or inconsistent (with the line number)."""
