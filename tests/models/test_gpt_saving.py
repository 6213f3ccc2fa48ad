"""A saved GPT reloads in a fresh process that only imports `tfllm.models`; a GPT saved before
the decoder options existed still loads, with the same weights file layout and logits."""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import h5py
import keras
import numpy as np

from tfllm.models import GPT

RELOAD = textwrap.dedent("""
    import sys
    import numpy as np
    import keras, tfllm.models
    model = keras.saving.load_model(sys.argv[1], safe_mode=True)
    inputs = dict(np.load(sys.argv[2]))
    logits = np.array(model({"token_ids": inputs["token_ids"],
                             "padding_mask": inputs["padding_mask"]}))
    np.testing.assert_allclose(logits, inputs["logits"], atol=1e-6)
    print(type(model).__name__, model.sequence_length, model.vocabulary_size)
""")


def test_saved_gpt_reloads_in_a_fresh_process(tmp_path):
    model = GPT(vocabulary_size=32, sequence_length=8, num_layers=2, num_heads=2, hidden_dim=8,
                intermediate_dim=16, position_encoding="sinusoidal", tie_embeddings=False)
    token_ids = np.random.default_rng(0).integers(0, 32, size=(2, 8)).astype("int32")
    padding_mask = np.array([[True] * 8, [True] * 6 + [False] * 2])
    logits = np.array(model({"token_ids": token_ids, "padding_mask": padding_mask}))
    model.save(tmp_path / "gpt.keras")
    np.savez(tmp_path / "expected.npz", token_ids=token_ids, padding_mask=padding_mask,
             logits=logits)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "CUDA_VISIBLE_DEVICES": "",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", RELOAD, str(tmp_path / "gpt.keras"), str(tmp_path / "expected.npz")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-3:] == ["GPT", "8", "32"]


# The arguments a GPT's config held before the decoder options (RoPE, RMSNorm, SwiGLU, GQA,
# QK-norm, residual init) were added: an archive saved then holds these and no others.
ARGUMENTS_BEFORE_OPTIONS = (
    "vocabulary_size", "sequence_length", "num_layers", "num_heads", "hidden_dim",
    "intermediate_dim", "dropout", "position_encoding", "norm_first", "tie_embeddings",
    "layer_norm_epsilon",
)
# The weights file of a one-block untied GPT as it was written before the options: a `.keras`
# file saved then is read by these paths, so a new sublayer or a renamed attribute in GPT-2's
# layout would break every saved model.
WEIGHT_PATHS_BEFORE_OPTIONS = [
    "decoder_blocks/decoder_block/feed_forward/intermediate_dense/vars/0",
    "decoder_blocks/decoder_block/feed_forward/intermediate_dense/vars/1",
    "decoder_blocks/decoder_block/feed_forward/output_dense/vars/0",
    "decoder_blocks/decoder_block/feed_forward/output_dense/vars/1",
    "decoder_blocks/decoder_block/feed_forward_layer_norm/vars/0",
    "decoder_blocks/decoder_block/feed_forward_layer_norm/vars/1",
    *(f"decoder_blocks/decoder_block/self_attention/{name}_dense/vars/{i}"
      for name in ("key", "output", "query", "value") for i in (0, 1)),
    "decoder_blocks/decoder_block/self_attention_layer_norm/vars/0",
    "decoder_blocks/decoder_block/self_attention_layer_norm/vars/1",
    "final_layer_norm/vars/0",
    "final_layer_norm/vars/1",
    "layers/position_embedding/vars/0",
    "layers/token_embedding/vars/0",
    "layers/token_embedding/vars/1",
]


def _rewrite_config(archive, target, keep):
    """Copies the `.keras` `archive` to `target` with only the `keep` model arguments."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(target, "w") as copy:
        for name in source.namelist():
            data = source.read(name)
            if name == "config.json":
                config = json.loads(data)
                config["config"] = {key: value for key, value in config["config"].items()
                                    if key in keep or key in ("name", "trainable", "dtype")}
                data = json.dumps(config).encode()
            copy.writestr(name, data)


def test_a_gpt_saved_before_the_decoder_options_loads_with_identical_logits(tmp_path):
    model = GPT(**{**GPT.original_options, "tie_embeddings": False}, vocabulary_size=32,
                sequence_length=8, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)
    token_ids = np.random.default_rng(1).integers(0, 32, size=(2, 8)).astype("int32")
    logits = np.array(model({"token_ids": token_ids}))
    model.save(tmp_path / "new.keras")
    with zipfile.ZipFile(tmp_path / "new.keras") as archive:
        with archive.open("model.weights.h5") as weights, h5py.File(weights) as h5:
            paths = []
            h5.visit(lambda path: paths.append(path) if isinstance(h5[path], h5py.Dataset)
                     else None)
    assert sorted(paths) == sorted(WEIGHT_PATHS_BEFORE_OPTIONS)

    _rewrite_config(tmp_path / "new.keras", tmp_path / "old.keras", ARGUMENTS_BEFORE_OPTIONS)
    reloaded = keras.saving.load_model(tmp_path / "old.keras", safe_mode=True)
    assert reloaded.get_config() == model.get_config()  # the defaults are the old model
    np.testing.assert_array_equal(np.array(reloaded({"token_ids": token_ids})), logits)
