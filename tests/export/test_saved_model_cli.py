"""The serving export as TensorFlow's own `saved_model_cli` (and so TF Serving) reads it.

`saved_model_cli` ships with TensorFlow; it loads a SavedModel the way TF Serving does (the
signatures, by the names of their input and output tensors) and never imports tfllm.
"""

import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tfllm.cli.main import main
from tfllm.export import load_model_dir
from tfllm.export.serving import _slice_update_with_core_ops
from tfllm.generation import generate

SIGNATURE_INPUTS = {
    "generate": {"prompts": "DT_STRING"},
    "serving_default": {"prompts": "DT_STRING"},
    "generate_with_options": {
        "prompts": "DT_STRING", "max_new_tokens": "DT_INT32", "temperature": "DT_FLOAT",
        "top_k": "DT_INT32", "top_p": "DT_FLOAT", "repetition_penalty": "DT_FLOAT",
        "seed": "DT_INT32",
    },
}
SIGNATURE_OUTPUTS = {
    "generate": {"output_0": "DT_STRING"},
    "serving_default": {"output_0": "DT_STRING"},
    "generate_with_options": {"text": "DT_STRING", "num_tokens": "DT_INT32"},
}
PROMPTS = ["ROMEO:", ""]
GREEDY = ('prompts=["ROMEO:", ""];max_new_tokens=20;temperature=0.0;top_k=0;top_p=1.0;'
          'repetition_penalty=1.0;seed=0')


def saved_model_cli(*arguments):
    """`saved_model_cli ARGUMENTS` as a subprocess, started now; `.communicate()` waits."""
    executable = Path(sys.executable).parent / "saved_model_cli"
    assert executable.is_file(), f"TensorFlow installs saved_model_cli next to {sys.executable}"
    return subprocess.Popen([str(executable), *arguments], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def signatures(show_output):
    """{signature: ({input: dtype}, {output: dtype})} from `saved_model_cli show --all`."""
    found = {}
    blocks = re.split(r"^signature_def\['([^']+)'\]:$", show_output, flags=re.M)
    for name, block in zip(blocks[1::2], blocks[2::2]):
        inputs, _, outputs = block.partition("contains the following output(s):")
        found[name] = tuple(
            dict(re.findall(r"\w+\['(\w+)'\] tensor_info:\s+dtype: (\w+)", part))
            for part in (inputs, outputs))
    return found


def graph_ops(saved_model_dir):
    """Every op type in the SavedModel's graph and its function library."""
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((saved_model_dir / "saved_model.pb").read_bytes())
    graph = saved_model.meta_graphs[0].graph_def
    return {node.op for node in graph.node} | {
        node.op for function in graph.library.function for node in function.node_def}


def test_saved_model_cli_shows_the_signatures_and_runs_them(smoke_run, tmp_path, capsys):
    model_dir, _, _ = smoke_run
    export = tmp_path / "serving"
    assert main(["export", "--model", str(model_dir), "--output", str(export)]) == 0
    capsys.readouterr()
    # TF Serving refuses XLA compilation unless started with --xla_cpu_compilation_enabled.
    assert not [op for op in graph_ops(export) if op.startswith("Xla")]

    # Both processes and the Python path at once: most of each process's time is importing
    # TensorFlow.
    show = saved_model_cli("show", "--dir", str(export), "--all")
    run = saved_model_cli("run", "--dir", str(export), "--tag_set", "serve",
                          "--signature_def", "generate_with_options", "--input_exprs", GREEDY,
                          "--outdir", str(tmp_path / "outputs"))
    loaded = load_model_dir(model_dir)
    expected = generate(loaded.model, loaded.tokenizer, PROMPTS, max_new_tokens=20,
                        temperature=0)
    (shown, show_errors), (ran, run_errors) = show.communicate(timeout=300), run.communicate(
        timeout=300)
    assert show.returncode == 0, show_errors[-2000:]
    assert run.returncode == 0, run_errors[-2000:]

    found = signatures(shown)
    for name, inputs in SIGNATURE_INPUTS.items():
        assert found[name] == (inputs, SIGNATURE_OUTPUTS[name]), name
    assert "Result for output key text:" in ran

    text = np.load(tmp_path / "outputs" / "text.npy", allow_pickle=True)
    num_tokens = np.load(tmp_path / "outputs" / "num_tokens.npy")
    assert [t.decode() for t in text] == expected and all(expected)
    assert all(0 < n <= 20 for n in num_tokens.tolist())


@pytest.mark.parametrize("start", [(0, 0, 0), (1, 2, 3), (0, 5, 9), (1, -2, 20)])
def test_the_core_op_cache_write_equals_keras_slice_update(start):
    # What the export traces in place of Keras's XLA op, clamped starts included.
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(2, 6, 10)).astype("float32")
    updates = rng.normal(size=(1, 3, 4)).astype("float32")
    expected = keras.ops.convert_to_numpy(keras.ops.slice_update(inputs, start, updates))
    written = _slice_update_with_core_ops(tf.constant(inputs), [tf.constant(i) for i in start],
                                          tf.constant(updates))
    np.testing.assert_array_equal(written.numpy(), expected)
