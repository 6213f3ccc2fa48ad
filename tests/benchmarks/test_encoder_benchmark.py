"""benchmarks/encoder.py: the two masked LMs differ by keras-hub's pooler alone, one training
step of each runs on the same tiny batch, untimeable arguments are refused; marked slow, a
whole run at a tiny size."""

import json

import numpy as np
import pytest

from tfllm.data import masked_lm_dataset
from tfllm.tokenizers import build_tokenizer

from tests.benchmarks.script_loader import load_benchmark

benchmark = load_benchmark("encoder.py")

TINY = ["--width", "16", "--layers", "1", "--heads", "2", "--ffn", "32", "--length", "8",
        "--batch", "4", "--jit", "off"]
VOCABULARY_SIZE = 32


def test_the_models_differ_by_the_pooler_alone_and_within_ten_percent():
    counts = benchmark.count_parameters(benchmark.parse_arguments(TINY), VOCABULARY_SIZE)
    (tfllm, tfllm_unused), (hub, hub_unused) = counts["tfllm"], counts["keras-hub"]
    width = 16
    assert (tfllm_unused, hub_unused) == (0, width * width + width)
    assert hub - hub_unused == tfllm
    assert abs(hub / tfllm - 1) < 0.10


def test_one_training_step_of_each_runs_on_the_same_tiny_batch():
    args = benchmark.parse_arguments(TINY)
    texts = ["to be or not to be that is the question", "whether tis nobler in the mind"]
    tokenizer = build_tokenizer("char", texts)
    x, labels, weights = next(masked_lm_dataset(
        texts, tokenizer, sequence_length=args.length, batch_size=args.batch,
        max_predictions=args.predictions, seed=0, repeat=True).as_numpy_iterator())
    contenders = benchmark.build_contenders(args, tokenizer.vocabulary_size)
    assert set(contenders) == {"tfllm", "keras-hub"}
    for entry in contenders.values():
        model = entry["model"]
        # Eagerly: the same step without seconds of tracing; the slow test runs it compiled.
        model.run_eagerly = True
        before = [w.copy() for w in model.get_weights()]
        loss = model.train_on_batch(entry["inputs"](x), labels, sample_weight=weights)
        assert np.isfinite(loss) and loss > 0
        assert any(not np.array_equal(old, new) for old, new in zip(before, model.get_weights()))


def test_keras_hub_gets_the_same_batch_under_its_own_names():
    x = {"token_ids": np.array([[2, 7, 4, 3, 0]], np.int32),
         "padding_mask": np.array([[1, 1, 1, 1, 0]], bool),
         "mask_positions": np.array([[2]], np.int32)}
    inputs = benchmark.keras_hub_inputs(x)
    assert set(inputs) == {"token_ids", "padding_mask", "segment_ids", "mask_positions"}
    assert inputs["padding_mask"].dtype == np.int32
    assert inputs["padding_mask"].tolist() == [[1, 1, 1, 1, 0]]
    assert not inputs["segment_ids"].any()
    assert inputs["mask_positions"] is x["mask_positions"]


def test_arguments_that_cannot_be_timed_are_refused(capsys):
    for arguments in (["--steps", "30", "--chunk", "20"], ["--steps", "20", "--chunk", "20"],
                      ["--width", "10", "--heads", "4"], ["--layers", "0"], ["--length", "2"],
                      ["--plays", "0"]):
        with pytest.raises(SystemExit):
            benchmark.parse_arguments(arguments)
    assert "--steps must be a multiple of --chunk" in capsys.readouterr().err


@pytest.mark.slow  # a WordPiece vocabulary learned from one play, two models trained and timed
def test_a_tiny_run_times_both_and_scores_them_next_to_the_floor(tmp_path, capsys):
    path = tmp_path / "result.json"
    result = benchmark.run(benchmark.parse_arguments(
        TINY + ["--steps", "4", "--chunk", "2", "--plays", "1", "--vocabulary-size", "200",
                "--eval-batches", "2", "--json", str(path)]))
    training = result["training"]
    assert set(training) == {"tfllm", "keras-hub"}
    for figures in training.values():
        assert figures["tokens_per_second"] > 0
        assert figures["first_chunk_seconds"] > 0
        assert np.isfinite(figures["validation_loss"])
    assert result["unigram_floor"] > 0
    assert json.loads(path.read_text())["ratio"] == pytest.approx(result["ratio"])
    assert "tfllm/keras-hub tokens/s:" in capsys.readouterr().out
