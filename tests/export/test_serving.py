"""The serving SavedModel: strings in, strings out, in a fresh process, equal to the Python path."""

import json
import subprocess
import sys

import keras
import pytest
import tensorflow as tf

from tfllm.cli.main import main
from tfllm.errors import TfllmError
from tfllm.export import export_serving, load_model_dir
from tfllm.generation import generate
from tfllm.models import LSTMLanguageModel
from tfllm.tokenizers import CharTokenizer

PROMPTS = ["ROMEO:", "", "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo? " * 2]

RELOAD = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the only other import a serving process needs)
serving = tf.saved_model.load(sys.argv[1])
prompts = tf.constant(json.loads(sys.argv[2]))
greedy = serving.generate_with_options(prompts, tf.constant(40), tf.constant(0.0), tf.constant(0),
                                       tf.constant(1.0), tf.constant(1.0), tf.constant(0))
default = serving.generate(prompts[:1])
print(json.dumps({
    "greedy": [t.decode() for t in greedy["text"].numpy()],
    "num_tokens": greedy["num_tokens"].numpy().tolist(),
    "default": [t.decode() for t in default.numpy()],
    "modules": sorted(m for m in ("tfllm", "keras_hub") if m in sys.modules),
}))
"""


def test_export_reloads_in_a_fresh_process_and_matches_greedy_generate(smoke_run, tmp_path, capsys):
    model_dir, _, _ = smoke_run
    output = tmp_path / "serving"
    assert main(["export", "--model", str(model_dir), "--output", str(output),
                 "--max-new-tokens", "25"]) == 0
    capsys.readouterr()
    reloaded = subprocess.run(
        [sys.executable, "-c", RELOAD, str(output), json.dumps(PROMPTS)],
        capture_output=True, text=True, timeout=300,
    )
    assert reloaded.returncode == 0, reloaded.stderr[-2000:]
    result = json.loads(reloaded.stdout.strip().splitlines()[-1])
    assert result["modules"] == []  # tfllm is not needed to serve

    loaded = load_model_dir(model_dir)
    expected = generate(loaded.model, loaded.tokenizer, PROMPTS, max_new_tokens=40, temperature=0)
    assert result["greedy"] == expected
    assert all(0 < n <= 40 for n in result["num_tokens"])
    assert len(result["default"]) == 1 and result["default"][0]
    marker = json.loads((output / "tfllm_serving.json").read_text())
    assert marker["tokenizer_fingerprint"] == loaded.tokenizer.fingerprint
    assert marker["defaults"]["max_new_tokens"] == 25


def test_export_never_replaces_a_folder_of_the_users_files(smoke_run, tmp_path, capsys):
    model_dir, _, _ = smoke_run
    output = tmp_path / "serving"
    output.mkdir()
    (output / "keep.txt").write_text("mine")
    for flags in ([], ["--overwrite"]):
        code = main(["export", "--model", str(model_dir), "--output", str(output), *flags])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert "did not write (keep.txt)" in err
    assert (output / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["serving"]


def test_lstm_export_matches_the_python_path(tmp_path):
    tokenizer = CharTokenizer.from_texts(["ROMEO: But soft, what light through yonder window?"])
    keras.utils.set_random_seed(3)
    model = LSTMLanguageModel(vocabulary_size=tokenizer.vocabulary_size, hidden_dim=16,
                              num_layers=1, sequence_length=16)
    path = export_serving(model, tokenizer, tmp_path / "lstm")
    serving = tf.saved_model.load(str(path))
    prompts = ["ROMEO:", "But soft"]
    out = serving.generate_with_options(tf.constant(prompts), tf.constant(12), tf.constant(0.0),
                                        tf.constant(0), tf.constant(1.0), tf.constant(1.0),
                                        tf.constant(0))
    expected = generate(model, tokenizer, prompts, max_new_tokens=12, temperature=0)
    assert [t.decode() for t in out["text"].numpy()] == expected


def test_export_refuses_a_mismatched_tokenizer(tmp_path):
    model = LSTMLanguageModel(vocabulary_size=7, hidden_dim=4, num_layers=1)
    tokenizer = CharTokenizer.from_texts(["abcdefgh"])
    with pytest.raises(TfllmError, match="does not match"):
        export_serving(model, tokenizer, tmp_path / "x")
    assert not (tmp_path / "x").exists()
