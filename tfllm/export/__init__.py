"""Saving and loading trained models: the model directory (`.keras` + tokenizer + config)."""

from tfllm.export.model_directory import LoadedModel, load_model_dir, save_model_dir

__all__ = ["LoadedModel", "load_model_dir", "save_model_dir"]
