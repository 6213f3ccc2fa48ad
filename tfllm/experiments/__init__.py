"""Runs as one call: train, evaluate and save; evaluate a saved model on a corpus split."""

# Word-vector queries and the vectors directory live in tfllm.data and tfllm.export; users import
# them from here too, next to the run that produces the vectors.
from tfllm.data.word_vector_queries import analogy, nearest_neighbours, related_pair_similarity
from tfllm.experiments.fine_tuning import finetune_config, run_finetuning
from tfllm.experiments.classification_plots import save_confusion_matrix, save_reliability_diagram
from tfllm.experiments.training_run import RunResult, evaluate_model_dir, run_training
from tfllm.experiments.word_embeddings import Word2VecResult, Word2VecSettings, train_word2vec
from tfllm.export import export_projector, load_vectors, save_vectors_dir

__all__ = ["RunResult", "evaluate_model_dir", "run_training",
           "Word2VecResult", "Word2VecSettings", "analogy", "export_projector", "load_vectors",
           "nearest_neighbours", "related_pair_similarity", "save_vectors_dir", "train_word2vec",
           "save_confusion_matrix", "save_reliability_diagram", "finetune_config",
           "run_finetuning"]
