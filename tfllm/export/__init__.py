"""Saving and loading trained models: the model directory (`.keras` + tokenizer + config),
the string-in/string-out serving SavedModel, and the word vectors directory (with its
TensorBoard projector export)."""

from tfllm.export.embedding_projector import export_projector
from tfllm.export.model_directory import LoadedModel, load_model_dir, save_model_dir
from tfllm.export.serving import SERVING_DEFAULTS, export_serving, serving_module
from tfllm.export.vectors_directory import load_vectors, save_vectors_dir

__all__ = [
    "LoadedModel",
    "SERVING_DEFAULTS",
    "export_projector",
    "export_serving",
    "load_model_dir",
    "load_vectors",
    "save_model_dir",
    "save_vectors_dir",
    "serving_module",
]
