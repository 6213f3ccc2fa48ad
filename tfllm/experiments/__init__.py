"""Runs as one call: train, evaluate and save; evaluate a saved model on a corpus split."""

from tfllm.experiments.training_run import RunResult, evaluate_model_dir, run_training
from tfllm.experiments.word_embeddings import (
    Word2VecResult,
    Word2VecSettings,
    analogy,
    export_projector,
    load_vectors,
    nearest_neighbours,
    related_pair_similarity,
    save_vectors_dir,
    train_word2vec,
)

__all__ = ["RunResult", "evaluate_model_dir", "run_training",
           "Word2VecResult", "Word2VecSettings", "analogy", "export_projector", "load_vectors",
           "nearest_neighbours", "related_pair_similarity", "save_vectors_dir", "train_word2vec"]
