"""The model directory: complete or absent, never half-written; loaded with checks."""

import json

import numpy as np
import pytest

from tfllm.config import RunConfig
from tfllm.errors import ModelLoadError
from tfllm.export import load_model_dir, save_model_dir
from tfllm.models import GPT
from tfllm.tokenizers import CharTokenizer

TOKENIZER = CharTokenizer.from_texts(["to be, or not to be: that is the question"])


def tiny_gpt():
    model = GPT(vocabulary_size=TOKENIZER.vocabulary_size, sequence_length=8, num_layers=1,
                num_heads=2, hidden_dim=8, intermediate_dim=16)
    model(np.ones((1, 4), dtype="int32"))
    return model


def test_round_trip(tmp_path):
    model = tiny_gpt()
    ids = np.array([TOKENIZER.encode("to be, o")], dtype="int32")
    x = {"token_ids": ids, "padding_mask": np.ones_like(ids, dtype=bool)}
    expected = model(x)
    path = save_model_dir(tmp_path / "m", model, TOKENIZER, RunConfig(), metrics={"loss": 1.5})
    loaded = load_model_dir(path)
    np.testing.assert_allclose(loaded.model(x), expected, atol=1e-6)
    assert loaded.tokenizer.fingerprint == TOKENIZER.fingerprint
    assert loaded.config == RunConfig() and loaded.metrics == {"loss": 1.5}
    manifest = json.loads((path / "tfllm.json").read_text())
    assert manifest["vocabulary_size"] == TOKENIZER.vocabulary_size
    assert "loss" in (path / "README.md").read_text()


def test_a_failed_save_keeps_the_previous_model_and_leaves_no_debris(tmp_path, monkeypatch):
    path = save_model_dir(tmp_path / "m", tiny_gpt(), TOKENIZER, RunConfig(), metrics={"loss": 1.0})
    before = (path / "model.keras").read_bytes()

    class Exploding:
        kind, vocabulary_size, fingerprint = "char", TOKENIZER.vocabulary_size, "x"

        def save(self, directory):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_model_dir(path, tiny_gpt(), Exploding(), RunConfig(), metrics={"loss": 9.0})
    assert (path / "model.keras").read_bytes() == before
    assert json.loads((path / "metrics.json").read_text()) == {"loss": 1.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_saving_over_an_existing_model_replaces_it(tmp_path):
    save_model_dir(tmp_path / "m", tiny_gpt(), TOKENIZER, RunConfig(), metrics={"loss": 1.0})
    save_model_dir(tmp_path / "m", tiny_gpt(), TOKENIZER, RunConfig(), metrics={"loss": 2.0})
    assert json.loads((tmp_path / "m" / "metrics.json").read_text()) == {"loss": 2.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_missing_pieces_are_named(tmp_path):
    path = save_model_dir(tmp_path / "m", tiny_gpt(), TOKENIZER, RunConfig())
    (path / "tfllm.json").unlink()
    with pytest.raises(ModelLoadError, match="missing tfllm.json"):
        load_model_dir(path)
    with pytest.raises(ModelLoadError, match="not a file"):
        load_model_dir(path / "config.json")


def test_reloads_in_a_fresh_process_that_only_imports_tfllm(tmp_path):
    import subprocess
    import sys

    model = tiny_gpt()
    ids = np.array([TOKENIZER.encode("to be, o")], dtype="int32")
    np.save(tmp_path / "expected.npy", np.asarray(model({"token_ids": ids})))
    path = save_model_dir(tmp_path / "m", model, TOKENIZER, RunConfig())
    code = (
        "import sys, numpy as np, tfllm\n"
        f"loaded = tfllm.load_model({str(path)!r})\n"
        f"ids = np.array([loaded.tokenizer.encode('to be, o')], dtype='int32')\n"
        f"expected = np.load({str(tmp_path / 'expected.npy')!r})\n"
        "np.testing.assert_allclose(np.asarray(loaded.model({'token_ids': ids})), expected, atol=1e-6)\n"
        "print('reloaded', type(loaded.model).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "reloaded GPT" in result.stdout


def test_a_model_directory_with_a_config_from_before_model_configs_still_loads(tmp_path):
    # Model directories written before a model was its own config hold a flat model section
    # with `architecture`; they load as the same model, and the config converts.
    model = tiny_gpt()
    path = save_model_dir(tmp_path / "m", model, TOKENIZER, RunConfig())
    legacy = json.loads((path / "config.json").read_text())
    legacy["model"] = {"architecture": "gpt", "sequence_length": 8, "num_layers": 1,
                       "num_heads": 2, "hidden_dim": 8, "intermediate_dim": 16, "dropout": 0.0,
                       "position_encoding": "learned", "norm_first": True,
                       "tie_embeddings": True}
    del legacy["task"]
    (path / "config.json").write_text(json.dumps(legacy))
    loaded = load_model_dir(path)
    assert loaded.config.model.class_name == "GPT" and loaded.config.task == "causal_lm"
    assert loaded.config.model.config["num_heads"] == 2
    ids = np.ones((1, 4), dtype="int32")
    np.testing.assert_allclose(loaded.model(ids), model(ids), atol=1e-6)


def test_saving_never_replaces_a_folder_of_other_files_or_a_protected_path(tmp_path):
    from tfllm.export import OutputPathError

    important = tmp_path / "important"
    important.mkdir()
    (important / "precious.txt").write_text("x")
    with pytest.raises(OutputPathError, match="did not write"):
        save_model_dir(important, tiny_gpt(), TOKENIZER, RunConfig(), overwrite=True)
    with pytest.raises(OutputPathError, match="lies inside .*even with --overwrite"):
        save_model_dir(important / "m", tiny_gpt(), TOKENIZER, RunConfig(), protect=(important,))
    assert sorted(p.name for p in important.iterdir()) == ["precious.txt"]

    notes = tmp_path / "notes"
    notes.write_text("x")
    with pytest.raises(OutputPathError, match="is a file"):
        save_model_dir(notes, tiny_gpt(), TOKENIZER, RunConfig())
    save_model_dir(notes, tiny_gpt(), TOKENIZER, RunConfig(), overwrite=True)
    assert (notes / "model.keras").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["important", "notes"]


def test_saving_vectors_follows_the_same_rules(tmp_path):
    from tfllm.data import WordVectors
    from tfllm.export import OutputPathError, save_vectors_dir

    vectors = WordVectors(["day", "night"], np.eye(2))
    model = save_model_dir(tmp_path / "m", tiny_gpt(), TOKENIZER, RunConfig())
    with pytest.raises(OutputPathError, match="holds a model directory .* not a vectors directory"):
        save_vectors_dir(model, vectors)
    save_vectors_dir(tmp_path / "v", vectors)
    save_vectors_dir(tmp_path / "v", vectors)  # its own kind: replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "v"]
