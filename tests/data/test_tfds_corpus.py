"""`load_corpus("tfds:NAME")`: a prepared TFDS dataset, read offline and split like text files."""

import doctest
import importlib
import logging

import pytest
import tensorflow_datasets as tfds

import tfllm  # noqa: F401  (registers shakespeare_plays with TFDS)
from tfllm.data import load_corpus, split_document
from tfllm.data.shakespeare import TEST_PLAYS, VALIDATION_PLAYS, load_plays
from tfllm.errors import CorpusError

tfds.disable_progress_bar()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tfds")
    tfds.builder("shakespeare_plays", data_dir=str(path)).download_and_prepare()
    return path


def _one_line_error(match, spec="tfds:shakespeare_plays", **kwargs):
    with pytest.raises(CorpusError, match=match) as info:
        load_corpus(spec, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "Received: " in message
    return message


def test_documents_are_examples_split_90_5_5(data_dir):
    corpus = load_corpus("tfds:shakespeare_plays", tfds_split="validation", data_dir=data_dir)
    assert corpus.name == "tfds:shakespeare_plays"
    plays = {play.slug: play.text for play in load_plays()}
    # Each example's text is one document, cut like a text file: 90% / 5% / 5% at line starts.
    expected = sorted(split_document(plays[slug]) for slug in VALIDATION_PLAYS)
    names = [doc.name for doc in corpus.train]
    got = sorted(
        tuple(next(d.text for d in corpus.documents(split) if d.name == name)
              for split in ("train", "validation", "test"))
        for name in names
    )
    assert got == expected
    assert sorted(names) == ["validation[0]", "validation[1]", "validation[2]"]
    assert all(doc.label == "" for doc in corpus.train)


def test_data_dir_from_environment_slices_and_other_features(data_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(data_dir))
    corpus = load_corpus("tfds:shakespeare_plays", tfds_split="test[:2]")
    assert len(corpus.train) == 2
    first_lines = {doc.text.split("\n", 1)[0] for doc in corpus.train}
    titles = {play.title for play in load_plays() if play.slug in TEST_PLAYS}
    assert first_lines <= titles  # a play's text starts with its title
    # The default split is "train" (32 plays); two runs read the same documents in the same order.
    train = load_corpus("tfds:shakespeare_plays")
    assert len(train.train) == 32 and train.sizes == load_corpus("tfds:shakespeare_plays").sizes


def test_not_prepared_says_how_to_prepare_and_downloads_nothing(tmp_path):
    message = _one_line_error("is not prepared", data_dir=tmp_path)
    assert "download_and_prepare()" in message and str(tmp_path) in message
    assert list(tmp_path.iterdir()) == []


def test_unknown_name_and_empty_name(tmp_path):
    message = _one_line_error("TFDS knows no dataset 'no_such_corpus_xyz'",
                              spec="tfds:no_such_corpus_xyz", data_dir=tmp_path)
    assert "download_and_prepare()" in message
    _one_line_error("needs a dataset name", spec="tfds:", data_dir=tmp_path)


def test_missing_split_missing_feature_and_feature_that_is_not_text(data_dir):
    message = _one_line_error("cannot read the split 'dev'", tfds_split="dev", data_dir=data_dir)
    assert "'test', 'train', 'validation'" in message
    message = _one_line_error("no feature 'body'", text_feature="body", data_dir=data_dir)
    assert "text features 'text', 'title'" in message
    message = _one_line_error("'genre' .* is not text", text_feature="genre", data_dir=data_dir)
    assert "ClassLabel of dtype int64" in message


def test_errors_log_nothing(data_dir, tmp_path, caplog):
    # The CLI prints a CorpusError as its one line on stderr; a TFDS warning logged on the way
    # (a missing variant folder, a deprecated attribute) would add lines before it.
    with caplog.at_level(logging.INFO):
        for kwargs in (dict(data_dir=tmp_path), dict(data_dir=data_dir, text_feature="genre")):
            with pytest.raises(CorpusError):
                load_corpus("tfds:shakespeare_plays", **kwargs)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_one_line_documents_are_too_small_to_split(data_dir):
    # Titles are one line each: every title goes wholly to train, so validation is empty.
    _one_line_error("too small to split", text_feature="title", data_dir=data_dir)


@pytest.mark.parametrize("module", ["tfllm.data.corpus", "tfllm.data.tfds_corpus"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
