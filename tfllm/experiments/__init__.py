"""Runs as one call: train, evaluate and save; evaluate a saved model on a corpus split."""

from tfllm.experiments.training_run import RunResult, evaluate_model_dir, run_training

__all__ = ["RunResult", "evaluate_model_dir", "run_training"]
