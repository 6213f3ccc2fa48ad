"""Bits per byte beside bits per character: the metric, the causal LM's report, and evaluate."""

import math

import numpy as np
import pytest

from tfllm.cli.main import evaluation_line
from tfllm.config import RunConfig, TrainConfig
from tfllm.data import Document
from tfllm.experiments import evaluate_model_dir
from tfllm.export import save_model_dir
from tfllm.models import GPT
from tfllm.objectives import BitsPerByte, BitsPerCharacter
from tfllm.tasks import get_task
from tfllm.tasks.causal_lm import text_per_token
from tfllm.tokenizers import CharTokenizer
from tfllm.training import compile_arguments, evaluate_model, task_metrics

TASK = get_task("causal_lm")
ASCII = "to be, or not to be: that is the question"
# 8 characters, 12 UTF-8 bytes: "é" and "ß" take two, "–" (an en dash) three.
ACCENTED = "Café – ß"


def uniform_state(metric, tokens=4, vocabulary=4):
    """`metric` after `tokens` tokens scored with uniform logits: log2(vocabulary) bits each,
    plus two padding positions (weight 0) that must not count."""
    labels = np.zeros((1, tokens + 2), "int32")
    weights = np.array([[1.0] * tokens + [0.0, 0.0]], "float32")
    metric.update_state(labels, np.zeros((1, tokens + 2, vocabulary), "float32"), weights)
    return float(metric.result())


def test_hand_computed():
    assert len(ACCENTED) == 8 and len(ACCENTED.encode("utf-8")) == 12
    # One token per character: 2 bits per token are 2 bits per character, 2 / 1.5 per byte.
    characters_per_token, bytes_per_token = text_per_token(ACCENTED, 8)
    assert (characters_per_token, bytes_per_token) == (1.0, 1.5)
    assert uniform_state(BitsPerCharacter(characters_per_token)) == pytest.approx(2.0)
    assert uniform_state(BitsPerByte(bytes_per_token)) == pytest.approx(2.0 / 1.5)
    # ASCII: a byte per character, so the two agree whatever the tokens.
    characters_per_token, bytes_per_token = text_per_token(ASCII, 10)
    assert characters_per_token == bytes_per_token == len(ASCII) / 10
    assert uniform_state(BitsPerByte(bytes_per_token)) == pytest.approx(
        uniform_state(BitsPerCharacter(characters_per_token)))


def test_matches_numpy_over_weighted_tokens():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, (3, 4))
    logits = rng.normal(size=(3, 4, 5)).astype("float32")
    weights = (rng.random((3, 4)) > 0.3).astype("float32")
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    nats = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    expected = (nats * weights).sum() / weights.sum() / math.log(2) / 2.5
    metric = BitsPerByte(bytes_per_token=2.5)
    metric.update_state(labels[:2], logits[:2], weights[:2])  # two batches: exact sums
    metric.update_state(labels[2:], logits[2:], weights[2:])
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    restored = BitsPerByte.from_config(metric.get_config())
    assert (restored.bytes_per_token, restored.name) == (2.5, "bits_per_byte")


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), "2"])
def test_invalid_bytes_per_token(value):
    with pytest.raises((ValueError, TypeError), match="bytes_per_token"):
        BitsPerByte(bytes_per_token=value)


def test_the_causal_lm_report():
    metrics = task_metrics(TASK, 1.0, bytes_per_token=1.5)
    assert [m.name for m in metrics] == ["perplexity", "bits_per_character", "bits_per_byte",
                                         "accuracy"]
    for metric in metrics:
        uniform_state(metric)
    summary = TASK.summarize(metrics)
    assert summary["bits_per_character"] == pytest.approx(2.0)
    assert summary["bits_per_byte"] == pytest.approx(2.0 / 1.5)
    assert "bits/char 2.0000, bits/byte 1.3333" in TASK.describe(summary)
    # Without the bytes of the text there is no bits per byte (and no guess).
    plain = TASK.metrics(1.0)
    for metric in plain:
        uniform_state(metric)
    assert "bits_per_byte" not in TASK.summarize(plain)


def test_training_measures_the_bytes_of_the_validation_text():
    tokenizer = CharTokenizer.from_texts([ACCENTED * 8])
    documents = {"train": [Document(name="a", text=ACCENTED * 8)],
                 "validation": [Document(name="b", text=ACCENTED * 4)]}
    corpus = type("Corpus", (), {
        "split_text": lambda self, split: documents[split][0].text})()
    config = TrainConfig(batch_size=2, steps=10, eval_interval=10, eval_batches=1,
                         warmup_steps=1)
    data = TASK.prepare_data(corpus, tokenizer, 8, RunConfig().data, config,
                             micro_batch_size=2, seed=0)
    assert data.characters_per_token == pytest.approx(1.0)
    assert data.bytes_per_token == pytest.approx(1.5)
    model = GPT(vocabulary_size=tokenizer.vocabulary_size, sequence_length=8, num_layers=1,
                num_heads=1, hidden_dim=8, intermediate_dim=16)
    arguments = compile_arguments(config, TASK, model, characters_per_token=1.0,
                                  bytes_per_token=data.bytes_per_token)
    names = [metric.name for metric in arguments["weighted_metrics"]]
    assert "bits_per_byte" in names
    model.compile(**{**arguments, "jit_compile": False})
    report = evaluate_model(model, data.validation, TASK, metrics=arguments["weighted_metrics"])
    assert report["bits_per_byte"] == pytest.approx(report["bits_per_character"] / 1.5,
                                                    rel=1e-5)


@pytest.mark.parametrize("text", [ASCII, ACCENTED * 3], ids=["ascii", "multi-byte"])
def test_evaluate_reports_bits_per_byte(tmp_path, text):
    tokenizer = CharTokenizer.from_texts([ASCII + ACCENTED])
    model = GPT(vocabulary_size=tokenizer.vocabulary_size, sequence_length=8, num_layers=1,
                num_heads=1, hidden_dim=8, intermediate_dim=16)
    model(np.ones((1, 4), "int32"))
    model_dir = save_model_dir(tmp_path / "m", model, tokenizer, RunConfig(), metrics={})
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    result = evaluate_model_dir(model_dir, corpus=str(tmp_path / "text.txt"), batch_size=4)
    characters, size = len(text), len(text.encode("utf-8"))
    assert (result["characters"], result["bytes"]) == (characters, size)
    assert result["bits_per_byte"] == pytest.approx(
        result["bits_per_character"] * characters / size, rel=1e-9)
    assert result["bytes_per_token"] == pytest.approx(
        result["characters_per_token"] * size / characters)
    if text == ASCII:
        assert result["bits_per_byte"] == pytest.approx(result["bits_per_character"])
    assert f"bits_per_byte {result['bits_per_byte']:.4f}" in evaluation_line(result)
