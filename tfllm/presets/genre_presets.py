"""Presets of the genre tasks (`tfllm.tasks.classification`): classifiers trained from scratch
on passages of the plays, labelled with their play's genre, split by play.

The classic baselines and the LSTM read word ids (the word tokenizer learned from the genre
split's training plays); the recipes are small enough to train in minutes on 2 CPU cores.
Their figures, and the commands that measured them, are in docs/classification.md.
"""

from tfllm.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from tfllm.presets import register_preset

_WORDS = DataConfig(corpus="shakespeare", tokenizer="word")
_SEQUENCE_LENGTH = 128  # a 400-character passage is about 90 words
# About 2,800 training passages for comedy-tragedy: a few hundred steps of 64 pass over them
# several times, and the first measured runs (1200 steps, no early stopping) overfit from the
# first evaluation on (the LSTM's validation loss rose from 2.45 to 4.71). So validation runs
# every 50 steps and training stops after 3 passes without a lower validation loss, keeping the
# best weights.
_GENRE_TRAIN = dict(
    batch_size=64, steps=1200, eval_interval=50, eval_batches=20, learning_rate=3e-3,
    min_learning_rate=1e-4, warmup_steps=50, weight_decay=0.01, class_weights="balanced",
    early_stopping_patience=3,
    sample_length=1, sample_prompt="O Romeo, Romeo! wherefore art thou Romeo?",
    jit_compile="auto",
)
_SMOKE_TRAIN = dict(_GENRE_TRAIN, batch_size=16, steps=20, eval_interval=10, eval_batches=2,
                    warmup_steps=2, log_every=5, early_stopping_patience=0)


def _bag_of_words(name, head, loss, description, train=_GENRE_TRAIN):
    register_preset(
        RunConfig(
            name=name, task="comedy-tragedy",
            model=ModelConfig("BagOfWordsClassifier", dict(
                sequence_length=_SEQUENCE_LENGTH, num_classes=2, head=head)),
            data=_WORDS, train=TrainConfig(**{**train, "loss": loss}),
        ),
        description,
    )


_bag_of_words("genre-bow-logistic", "linear", "cross_entropy",
              "comedy or tragedy: logistic regression on tf-idf bag-of-words features")
_bag_of_words("genre-bow-svm", "linear", "hinge",
              "comedy or tragedy: a linear SVM (multiclass hinge loss) on the same features")
_bag_of_words("genre-bow-rbf", "rbf", "cross_entropy",
              "comedy or tragedy: an RBF network (64 centres) on the same features")
_bag_of_words("smoke-genre-bow", "linear", "cross_entropy",
              "a bag-of-words classifier that trains in seconds (for tests)", train=_SMOKE_TRAIN)

for _name, _train, _size, _description in (
    ("genre-lstm", _GENRE_TRAIN, dict(embedding_dim=128, hidden_dim=128),
     "comedy or tragedy: the textbook Embedding -> LSTM -> Dense classifier, done properly"),
    ("smoke-genre-lstm", _SMOKE_TRAIN, dict(embedding_dim=16, hidden_dim=16),
     "a tiny LSTM classifier that trains in seconds (for tests)"),
):
    register_preset(
        RunConfig(
            name=_name, task="comedy-tragedy",
            model=ModelConfig("LSTMClassifier", dict(
                sequence_length=_SEQUENCE_LENGTH, num_classes=2, dropout=0.2, **_size)),
            data=_WORDS, train=TrainConfig(**_train),
        ),
        _description,
    )


# The encoder of shakespeare-mlm trained from scratch on the labelled passages alone: what
# fine-tuning the pre-trained one must beat (same size, tokenizer kind and recipe).
register_preset(
    RunConfig(
        name="genre-encoder", task="comedy-tragedy",
        model=ModelConfig("BertClassifier", dict(
            sequence_length=_SEQUENCE_LENGTH, num_classes=2, num_layers=4, num_heads=4,
            hidden_dim=256, intermediate_dim=1024, dropout=0.1, pooling="mean",
            classifier_dropout=0.1)),
        data=DataConfig(corpus="shakespeare", tokenizer="wordpiece"),
        train=TrainConfig(**{**_GENRE_TRAIN, "learning_rate": 1e-4, "min_learning_rate": 1e-5}),
    ),
    "comedy or tragedy: the shakespeare-mlm encoder trained from scratch (fine-tuning's baseline)",
)

# The recipe of `tfllm finetune --from saved_models/shakespeare-mlm --task ...`: the encoder's
# arguments and the tokenizer come from the pre-trained model, the head and the two phases from
# here (tfllm/experiments/fine_tuning.py): 200 steps of the head alone at 1e-3, then up to 600
# steps of the whole model at 1e-4, stopping after 2 validation passes without a lower loss.
register_preset(
    RunConfig(
        name="finetune", task="comedy-tragedy",
        model=ModelConfig("BertClassifier", dict(pooling="mean", classifier_dropout=0.1)),
        data=DataConfig(corpus="shakespeare", tokenizer="wordpiece"),
        train=TrainConfig(**{**_GENRE_TRAIN, "steps": 600, "eval_interval": 100,
                             "learning_rate": 1e-4, "min_learning_rate": 1e-5,
                             "warmup_steps": 50, "frozen_steps": 200,
                             "frozen_learning_rate": 1e-3, "early_stopping_patience": 2}),
    ),
    "the fine-tuning recipe of `tfllm finetune` (a frozen phase, then the whole encoder)",
)
register_preset(
    RunConfig(
        name="smoke-finetune", task="comedy-tragedy",
        model=ModelConfig("BertClassifier", dict(pooling="mean", classifier_dropout=0.0)),
        data=DataConfig(corpus="shakespeare", tokenizer="char"),
        train=TrainConfig(**{**_SMOKE_TRAIN, "frozen_steps": 10, "frozen_learning_rate": 3e-3,
                             "early_stopping_patience": 1}),
    ),
    "a fine-tuning recipe that runs in seconds (for tests)",
)
