"""`tfllm.paths`: the checks the CLI makes before importing TensorFlow give the loaders' messages."""

import doctest
import zipfile

import pytest

import tfllm.paths
from tfllm.errors import TfllmError
from tfllm.paths import check_corpus_path, check_model_dir, check_tokenizer_dir, check_vectors_path


def test_docstring_examples():
    result = doctest.testmod(tfllm.paths, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_file_names_are_the_loaders():
    from tfllm.export import model_directory, vectors_directory
    from tfllm.tokenizers import tokenizer

    assert tfllm.paths.MODEL_FILE == model_directory.MODEL_FILE
    assert tfllm.paths.TOKENIZER_FILE == tokenizer.TOKENIZER_FILE
    assert tfllm.paths.VECTORS_FILE == vectors_directory.VECTORS_FILE


def _message(function, *args):
    with pytest.raises(TfllmError) as raised:
        function(*args)
    return type(raised.value), str(raised.value)


@pytest.fixture
def bad_paths(tmp_path):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "not_zip").mkdir()
    (tmp_path / "not_zip" / "model.keras").write_bytes(b"not a zip")
    return tmp_path


@pytest.mark.parametrize("name", ["none", "a_file", "empty", "not_zip"])
def test_model_dir_messages_match_load_model_dir(bad_paths, name):
    from tfllm.export import load_model_dir

    assert _message(check_model_dir, bad_paths / name) == _message(load_model_dir, bad_paths / name)


@pytest.mark.parametrize("name", ["none", "empty"])
def test_corpus_messages_match_load_corpus(bad_paths, name):
    from tfllm.data import load_corpus

    path = str(bad_paths / name)
    assert _message(check_corpus_path, path) == _message(load_corpus, path)


@pytest.mark.parametrize("name", ["none", "empty"])
def test_tokenizer_messages_match_load_tokenizer(bad_paths, name):
    from tfllm.tokenizers import load_tokenizer

    path = bad_paths / name
    assert _message(check_tokenizer_dir, path) == _message(load_tokenizer, path)


@pytest.mark.parametrize("name", ["none", "empty"])
def test_vectors_messages_match_load_vectors(bad_paths, name):
    from tfllm.export.vectors_directory import load_vectors

    path = bad_paths / name
    assert _message(check_vectors_path, path) == _message(load_vectors, path)


def test_what_passes(bad_paths):
    with zipfile.ZipFile(bad_paths / "empty" / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    (bad_paths / "texts" / "deep").mkdir(parents=True)
    (bad_paths / "texts" / "deep" / "a.txt").write_text("text")
    assert check_model_dir(bad_paths / "empty") == bad_paths / "empty"
    for spec in ("shakespeare", "tfds:anything", str(bad_paths / "texts"), str(bad_paths / "a_file")):
        assert check_corpus_path(spec) == spec
