"""benchmarks/seq2seq.py: the two Transformers have about the same weights at the default size,
untimeable arguments are refused; at tiny sizes (slow) every contender trains and is timed and
decoding is timed too."""

import json

import pytest

from tests.benchmarks.script_loader import load_benchmark

benchmark = load_benchmark("seq2seq.py")

TINY = ["--width", "16", "--layers", "1", "--heads", "2", "--ffn", "32", "--steps", "4",
        "--chunk", "2", "--batch", "8", "--pairs", "48", "--jit", "off"]


@pytest.mark.slow  # three models trained and timed: about 20 s
def test_every_contender_trains_and_gets_a_positive_throughput(tmp_path, capsys):
    path = tmp_path / "result.json"
    result = benchmark.run(benchmark.parse_arguments(
        TINY + ["--skip-decode", "--json", str(path)]))
    training = result["training"]
    assert set(training) == {"tfllm", "keras-hub", "gru"}
    for figures in training.values():
        assert figures["positions_per_second"] > 0
        assert figures["first_chunk_seconds"] > 0
    assert set(result["ratios"]) == {"tfllm/keras-hub", "gru/keras-hub"}
    assert "decoding" not in result
    assert json.loads(path.read_text())["training"]["tfllm"]["parameters"] == (
        training["tfllm"]["parameters"])
    assert "target tfllm/keras-hub >= 1.3x:" in capsys.readouterr().out


def test_the_transformers_have_weights_within_ten_percent_at_the_default_size():
    counts = benchmark.count_parameters(benchmark.parse_arguments(["--skip-gru"]), 4000)
    assert set(counts) == {"tfllm", "keras-hub"}
    assert abs(counts["tfllm"] / counts["keras-hub"] - 1) < 0.10


def test_arguments_that_cannot_be_timed_are_refused(capsys):
    for arguments in (["--steps", "30", "--chunk", "20"], ["--steps", "20", "--chunk", "20"],
                      ["--width", "10", "--heads", "4"], ["--layers", "0"]):
        with pytest.raises(SystemExit):
            benchmark.parse_arguments(arguments)
    assert "--steps must be a multiple of --chunk" in capsys.readouterr().err


@pytest.mark.slow
def test_decoding_is_timed_greedily_and_with_beams():
    result = benchmark.run(benchmark.parse_arguments(
        TINY + ["--skip-gru", "--decode-sources", "4", "--decode-repeats", "1"]))
    decoding = result["decoding"]
    assert set(decoding) == {"greedy", "beam-4"}
    for figures in decoding.values():
        assert figures["sentences_per_second"] > 0
        assert figures["first_call_seconds"] > 0
        assert 0 < figures["mean_new_tokens"] <= 31
