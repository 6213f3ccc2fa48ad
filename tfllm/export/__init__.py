"""Saving and loading trained models: the model directory (`.keras` + tokenizer + config)
and the string-in/string-out serving SavedModel."""

from tfllm.export.model_directory import LoadedModel, load_model_dir, save_model_dir
from tfllm.export.serving import SERVING_DEFAULTS, export_serving, serving_module

__all__ = [
    "LoadedModel",
    "SERVING_DEFAULTS",
    "export_serving",
    "load_model_dir",
    "save_model_dir",
    "serving_module",
]
