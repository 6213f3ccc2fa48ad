"""A saved GPT reloads in a fresh process that only imports `tfllm.models`."""

import os
import subprocess
import sys
import textwrap

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
