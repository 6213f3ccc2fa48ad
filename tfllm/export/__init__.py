"""Saving and loading trained models: the model directory (`.keras` + tokenizer + config),
the string-in/string-out serving SavedModel, and the word vectors directory (with its
TensorBoard projector export); `check_output_dir` says whether a command may write a directory
at a path the user named.

The names load on first use, so `from tfllm.export import check_output_dir` (plain Python) does
not import TensorFlow.
"""

import importlib

_NAMES = {
    "LoadedModel": "model_directory",
    "load_model_dir": "model_directory",
    "save_model_dir": "model_directory",
    "SERVING_DEFAULTS": "serving",
    "export_serving": "serving",
    "serving_module": "serving",
    "export_projector": "embedding_projector",
    "load_vectors": "vectors_directory",
    "save_vectors_dir": "vectors_directory",
    "OutputPathError": "output_guard",
    "check_output_dir": "output_guard",
}

__all__ = sorted(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(f"tfllm.export.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'tfllm.export' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_NAMES))
