"""benchmarks/step_overhead.py: each candidate computes the baseline's function with the change
it names (one mask per trace, fewer projection matmuls), and a tiny run prints a ratio for
each."""

import numpy as np
import tensorflow as tf

from tests.benchmarks.script_loader import load_benchmark

benchmark = load_benchmark("step_overhead.py")


def _op_counts(model, length):
    graph = tf.function(model).get_concrete_function(
        {"token_ids": tf.TensorSpec((None, length), tf.int32)}).graph
    types = [op.type for op in graph.get_operations()]
    return types.count("GreaterEqual"), sum(types.count(t) for t in ("Einsum", "MatMul",
                                                                     "BatchMatMulV2"))


def test_candidates_change_the_graph_they_name_and_not_the_function():
    args = benchmark.parse_arguments(["--tiny", "--steps", "4", "--chunk", "2"])
    config = benchmark.baby_config(args)
    config = benchmark.dataclasses.replace(config, model=benchmark.dataclasses.replace(
        config.model, config={**config.model.config, "num_layers": 3}))
    contenders = benchmark.build_contenders(list(benchmark.CANDIDATES), config, 40)
    length = config.model.config["sequence_length"]
    benchmark.check_same_function(
        contenders, np.random.default_rng(0).integers(0, 40, (2, length)).astype("int32"))
    counts = {name: _op_counts(c["model"], length) for name, c in contenders.items()}
    masks = {name: count[0] for name, count in counts.items()}
    matmuls = {name: count[1] for name, count in counts.items()}
    assert masks == {"baseline": 3, "fused-qkv": 3, "one-mask": 1}  # one per block, or one
    # Three projections become one in each of the 3 blocks.
    assert matmuls["baseline"] - matmuls["fused-qkv"] == 6
    assert matmuls["one-mask"] == matmuls["baseline"]


def test_a_tiny_run_prints_a_ratio_per_contender(capsys):
    speeds = benchmark.main(["--tiny", "--steps", "4", "--chunk", "2", "--jit", "off",
                             "--candidates", "one-mask"])
    assert list(speeds) == ["baseline", "one-mask"]
    assert all(speed > 0 for speed in speeds.values())
    assert capsys.readouterr().out.count("x baseline") == 2
