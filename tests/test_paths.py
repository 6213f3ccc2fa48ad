"""`tfllm.paths`: the checks the CLI makes before importing TensorFlow, which the loaders call too."""

import doctest
import zipfile

import pytest

import tfllm.paths
from tfllm.errors import CorpusError, ModelLoadError, TokenizerError, WordVectorsError
from tfllm.paths import check_corpus_path, check_model_dir, check_tokenizer_dir, check_vectors_path


def test_docstring_examples():
    result = doctest.testmod(tfllm.paths, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.fixture
def bad_paths(tmp_path):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "not_zip").mkdir()
    (tmp_path / "not_zip" / "model.keras").write_bytes(b"not a zip")
    return tmp_path


def _loaders():
    from tfllm.data import load_corpus
    from tfllm.data.text_files import read_text_files
    from tfllm.export import load_model_dir
    from tfllm.export.vectors_directory import load_vectors
    from tfllm.tokenizers import load_tokenizer

    return {"load_model_dir": load_model_dir, "load_corpus": lambda path: load_corpus(str(path)),
            "read_text_files": read_text_files, "load_tokenizer": load_tokenizer,
            "load_vectors": load_vectors}


# (check, the loader that calls it, error class, bad path, fragment of the message)
CASES = [
    (check_model_dir, "load_model_dir", ModelLoadError, "none", "No model directory"),
    (check_model_dir, "load_model_dir", ModelLoadError, "a_file", "not a file"),
    (check_model_dir, "load_model_dir", ModelLoadError, "empty", "has no model.keras"),
    (check_model_dir, "load_model_dir", ModelLoadError, "not_zip", "not a Keras zip archive"),
    (check_corpus_path, "load_corpus", CorpusError, "none", "does not exist"),
    (check_corpus_path, "read_text_files", CorpusError, "empty", "has no .txt files"),
    (check_tokenizer_dir, "load_tokenizer", TokenizerError, "none", "No tokenizer directory"),
    (check_tokenizer_dir, "load_tokenizer", TokenizerError, "empty", "has no tokenizer.json"),
    (check_vectors_path, "load_vectors", WordVectorsError, "none", "No vectors at"),
    (check_vectors_path, "load_vectors", WordVectorsError, "empty", "has no vectors.txt"),
]


@pytest.mark.parametrize("check, loader, error, name, fragment", CASES,
                         ids=[f"{case[1]}-{case[3]}" for case in CASES])
def test_each_loader_raises_the_check_message(bad_paths, check, loader, error, name, fragment):
    path = bad_paths / name
    with pytest.raises(error, match=fragment) as checked:
        check(path)
    with pytest.raises(error) as loaded:
        _loaders()[loader](path)
    assert str(loaded.value) == str(checked.value)


def test_what_passes(bad_paths):
    with zipfile.ZipFile(bad_paths / "empty" / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    (bad_paths / "texts" / "deep").mkdir(parents=True)
    (bad_paths / "texts" / "deep" / "a.txt").write_text("text")
    assert check_model_dir(bad_paths / "empty") == bad_paths / "empty"
    for spec in ("shakespeare", "tfds:anything", str(bad_paths / "texts"), str(bad_paths / "a_file")):
        assert check_corpus_path(spec) == spec
    assert tfllm.paths.check_text_files_path(bad_paths / "texts") == bad_paths / "texts"
