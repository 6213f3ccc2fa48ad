"""A language model's training objective from its config: the base loss, the unlikelihood and
word penalties as named terms, their ids, and the config's refusals; one compiled fit step logs
each term."""

import doctest

import keras
import numpy as np
import pytest

from tfllm.config import TrainConfig
from tfllm.errors import ConfigError
from tfllm.models import GPT
from tfllm.objectives import (ContextPenalty, MaskedCrossEntropy, MaskedSquaredError,
                              TokenSetPenalty, WeightedObjective)
from tfllm.tasks import get_task, training_objective
from tfllm.tasks.training_objective import language_model_objective, penalty_token_ids
from tfllm.tokenizers import build_tokenizer
from tfllm.training import compile_arguments

TEXT = ["Zounds, my lord! Zounds and ZOUNDS again.", "By my troth, my lord, good night."]


@pytest.fixture(scope="module")
def words():
    return build_tokenizer("word", TEXT)


def test_docstring_example():
    result = doctest.testmod(training_objective)
    assert result.attempted > 0 and result.failed == 0


def test_the_base_loss_follows_train_loss():
    assert isinstance(language_model_objective(TrainConfig(), None), MaskedCrossEntropy)
    brier = language_model_objective(TrainConfig(loss="squared_error"), None)
    assert isinstance(brier, MaskedSquaredError) and brier.on == "probabilities"
    square = language_model_objective(
        TrainConfig(loss="square_loss", square_loss_scale=5.0, square_loss_target=2.0), None)
    assert (square.on, square.scale, square.target) == ("logits", 5.0, 2.0)
    with pytest.raises(ConfigError, match="train.loss=hinge is for classification tasks"):
        get_task("causal_lm").training_loss(TrainConfig(loss="hinge"))


def test_penalties_become_named_terms(words):
    config = TrainConfig(unlikelihood=0.5, penalty_words="zounds, troth",
                         penalty="probability_mass", penalty_weight=2.0)
    loss = get_task("causal_lm").training_loss(config, words)
    assert isinstance(loss, WeightedObjective)
    assert {name: weight for name, (weight, _) in loss.terms.items()} == {
        "cross_entropy": 1.0, "unlikelihood": 0.5, "penalty": 2.0}
    assert isinstance(loss.terms["unlikelihood"][1], ContextPenalty)
    penalty = loss.terms["penalty"][1]
    assert isinstance(penalty, TokenSetPenalty) and penalty.penalty == "probability_mass"
    # Every casing that is one token: "Zounds" and "ZOUNDS" (not "zounds": never seen).
    expected = sorted({words.encode("Zounds")[0], words.encode("ZOUNDS")[0],
                       words.encode("troth")[0]})
    assert penalty.token_ids == expected == penalty_token_ids(words, "zounds,troth")


def test_refusals(words):
    with pytest.raises(ConfigError, match="'gadzooks' is not one token"):
        penalty_token_ids(words, "zounds, gadzooks")
    characters = build_tokenizer("char", TEXT)
    with pytest.raises(ConfigError, match="'zounds' is not one token"):
        penalty_token_ids(characters, "zounds")
    with pytest.raises(ConfigError, match="train.penalty_weight needs the words"):
        TrainConfig(penalty_weight=1.0)
    with pytest.raises(ConfigError, match="train.label_smoothing smooths the cross-entropy"):
        TrainConfig(loss="squared_error", label_smoothing=0.1)
    with pytest.raises(ConfigError, match="rescale train.loss=square_loss only"):
        TrainConfig(square_loss_scale=2.0)
    with pytest.raises(ConfigError, match="task restoration trains with train.unlikelihood=0.0"):
        get_task("restoration").training_loss(TrainConfig(unlikelihood=1.0))
    with pytest.raises(ConfigError, match="task genre trains with train.loss=cross_entropy or"):
        get_task("genre").training_loss(TrainConfig(loss="squared_error"))


def test_a_compiled_fit_step_logs_each_term(words):
    keras.utils.set_random_seed(0)
    config = TrainConfig(unlikelihood=1.0, penalty_words="zounds", penalty_weight=0.5,
                         warmup_steps=0)
    model = GPT(vocabulary_size=words.vocabulary_size, sequence_length=6, num_layers=1,
                num_heads=1, hidden_dim=8, intermediate_dim=16)
    model.compile(**compile_arguments(config, get_task("causal_lm"), model, tokenizer=words))
    ids = np.random.default_rng(0).integers(0, words.vocabulary_size, (4, 7))
    history = model.fit(ids[:, :-1], ids[:, 1:], sample_weight=np.ones((4, 6)), epochs=1,
                        verbose=0)
    logs = {name: values[0] for name, values in history.history.items()}
    assert {"cross_entropy", "unlikelihood", "penalty", "loss"} <= set(logs)
    assert all(np.isfinite(value) for value in logs.values())
    assert logs["unlikelihood"] > 0 and logs["penalty"] > 0
