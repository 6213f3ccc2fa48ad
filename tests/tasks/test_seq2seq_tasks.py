"""The seq2seq task and its restoration form: the smoke presets' models learn a synthetic copy
task through the task's own pipeline, loss and decoding; restoration pairs, lengths and reports."""

import dataclasses

import keras
import numpy as np
import pytest

from tfllm.config import TrainConfig
from tfllm.data import RestorationPair, pair_dataset
from tfllm.errors import ConfigError
from tfllm.models import GPT, build_model
from tfllm.objectives import MaskedAccuracy
from tfllm.presets import get_preset
from tfllm.tasks import get_task
from tfllm.tokenizers import build_tokenizer

LETTERS = "abcdefgh"


def _copy_pairs(count, seed):
    rng = np.random.default_rng(seed)
    words = ["".join(rng.choice(list(LETTERS), size=rng.integers(3, 8))) for _ in range(count)]
    return [RestorationPair(source=w, target=w, document="copy") for w in words]


@pytest.mark.parametrize("preset", ["smoke-restore", "smoke-restore-gru"])
def test_the_smoke_preset_models_learn_to_copy(preset):
    keras.utils.set_random_seed(0)
    tokenizer = build_tokenizer("char", [LETTERS])
    task = get_task("restoration")
    config = get_preset(preset)
    model_config = dataclasses.replace(config.model, config={
        **config.model.config, "source_length": 8, "target_length": 10})
    model = build_model(model_config, tokenizer.vocabulary_size)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=task.loss(),
                  weighted_metrics=[MaskedAccuracy()])
    train = pair_dataset(_copy_pairs(2000, seed=1), tokenizer, source_length=8, target_length=10,
                         batch_size=32, shuffle=True, seed=0, repeat=True)
    model.fit(train, steps_per_epoch=150, epochs=1, verbose=0)
    held_out = _copy_pairs(64, seed=2)
    evaluation = pair_dataset(held_out, tokenizer, source_length=8, target_length=10,
                              batch_size=64)
    accuracy = model.evaluate(evaluation, verbose=0, return_dict=True)["accuracy"]
    assert accuracy > 0.9, accuracy
    copied = task.decode(model, tokenizer, [p.source for p in held_out])
    assert np.mean([c == p.target for c, p in zip(copied, held_out)]) > 0.8


def test_restoration_pairs_lengths_and_checks():
    task = get_task("restoration")
    # A play's first line is its title, never a pair.
    (pair,) = task.pairs_of_text("Hamlet\n\nHAMLET:\nTo be, or not to be: that is the question.")
    assert (pair.source, pair.target) == ("to be or not to be that is the question",
                                          "To be, or not to be: that is the question.")
    assert task.input_kind == "input"
    assert task.lengths({"source_length": 32, "target_length": 40}) == (32, 40)
    with pytest.raises(ConfigError, match="model.target_length"):
        task.lengths({"source_length": 32})
    with pytest.raises(ConfigError, match="encoder-decoder model"):
        task.check_model(GPT(vocabulary_size=8, sequence_length=4, num_layers=1, num_heads=1,
                             hidden_dim=4, intermediate_dim=8))
    with pytest.raises(ConfigError, match="found no pairs"):
        task.pairs_of_text("ACT I\n\nSCENE I. A room.\n")


def test_the_restoration_report_scores_what_the_model_writes():
    """An untrained model through `decoded_report`: every figure is present and in range; the
    teacher-forced figures come from `prepare_data`'s pipelines."""
    from tfllm.data import Document

    keras.utils.set_random_seed(0)
    text = ("Hamlet\n\nHAMLET:\nTo be, or not to be: that is the question.\nWhether 'tis nobler in the "
            "mind to suffer\n\nOPHELIA:\nGood my lord, how does your honour?\n")
    tokenizer = build_tokenizer("char", [text])
    task = get_task("restoration")
    model = build_model(get_preset("smoke-restore-gru").model, tokenizer.vocabulary_size)
    report = task.decoded_report(model, tokenizer, [Document(name="hamlet", text=text)])
    assert report["pairs"] == 3
    for key in ("bleu", "casing_accuracy", "punctuation_f1", "f1_comma", "f1_question"):
        assert key in report and 0 <= report[key] <= 100
    sample = task.sample(model, tokenizer, TrainConfig(sample_length=1, sample_prompt="to be"))
    assert sample.startswith("to be -> ")
    assert task.sample(model, tokenizer, TrainConfig(sample_length=0)) is None
    documents = [Document(name="hamlet", text=text)]
    corpus = type("Corpus", (), {"documents": lambda self, split: documents})()
    train_config = TrainConfig(batch_size=2, steps=10, eval_interval=10, eval_batches=1,
                               warmup_steps=1)
    data = task.prepare_data(corpus, tokenizer, (64, 72), None, train_config,
                             micro_batch_size=2, seed=0)
    x, labels, weights = next(iter(data.train))
    assert set(x) == {"encoder_token_ids", "encoder_padding_mask", "token_ids", "padding_mask"}
    assert labels.shape == weights.shape and data.tokens_per_example == 72


@pytest.mark.parametrize("name", ["tfllm.tasks.causal_lm", "tfllm.tasks.restoration"])
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
