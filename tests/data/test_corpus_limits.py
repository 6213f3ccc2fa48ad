"""What a corpus path may be: regular files only, within `MAX_CORPUS_MB`, every OS error one line.

Each refusal happens before a file is opened: a FIFO that was opened would block these tests
(each such call runs in a thread that must return within seconds), and a size over the limit is
made with sparse files, which are never read.
"""

import os
import socket
import threading

import pytest
import tensorflow_datasets as tfds

import tfllm  # noqa: F401  (registers shakespeare_plays with TFDS)
from tfllm.data import load_corpus
from tfllm.data.text_files import read_text_files
from tfllm.errors import CorpusError

tfds.disable_progress_bar()


def _refused(path, *fragments):
    """The one-line `CorpusError` of reading `path`, which must come within 20 s."""
    outcome = {}

    def read():
        try:
            read_text_files(path)
        except Exception as error:  # noqa: BLE001  (any other kind fails the assertion below)
            outcome["error"] = error

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), f"reading {path} blocked"
    error = outcome.get("error")
    assert isinstance(error, CorpusError), repr(error)
    message = str(error)
    assert "\n" not in message and "Received: corpus=" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def test_special_files_are_refused_without_being_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    _refused(tmp_path / "pipe.txt", "is a FIFO (named pipe), not a regular file")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("To be, or not to be\n" * 50)
    os.symlink(tmp_path / "pipe.txt", folder / "b.txt")
    _refused(folder, "holds 'b.txt', which is a FIFO")
    os.remove(folder / "b.txt")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(folder / "c.txt"))
        _refused(folder, "holds 'c.txt', which is a socket")
    _refused("/dev/zero", "is a character device")


def test_os_errors_name_the_path_and_the_operation(tmp_path):
    (tmp_path / "a.txt").write_text("text\n")
    _refused(tmp_path / "a.txt" / "b.txt", "Cannot read", "Not a directory",
             "a part of the path before its last name is a file")
    os.symlink(tmp_path / "loop.txt", tmp_path / "loop.txt")
    _refused(tmp_path / "loop.txt", "Cannot read", "leads back to itself")
    folder = tmp_path / "folder"
    folder.mkdir()
    os.symlink(tmp_path / "gone.txt", folder / "dangling.txt")
    _refused(folder, "holds 'dangling.txt', a symbolic link to", "which does not exist")


def test_a_corpus_over_the_size_limit_is_refused_from_its_size(tmp_path, monkeypatch):
    monkeypatch.setenv("TFLLM_MAX_CORPUS_MB", "1")
    with open(tmp_path / "big.txt", "wb") as handle:
        handle.truncate(2 * 2**20)  # sparse: never read
    _refused(tmp_path / "big.txt", "holds 2 MB in 1 file(s), over the limit of 1 MB",
             "TFLLM_MAX_CORPUS_MB=N")
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        with open(folder / name, "wb") as handle:
            handle.truncate(600 * 1024)
    _refused(folder, "in 2 file(s), over the limit of 1 MB")
    monkeypatch.setenv("TFLLM_MAX_CORPUS_MB", "2")
    assert [d.name for d in read_text_files(folder)] == ["a.txt", "b.txt"]  # now read


def test_a_text_without_line_breaks_is_not_called_too_small(tmp_path):
    (tmp_path / "one_line.txt").write_text("word " * 200_000)
    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path / "one_line.txt")
    message = str(info.value)
    assert "too small" not in message
    assert "has a line of 1,000,000 characters" in message
    assert "no line break to cut at" in message


def test_a_tfds_split_over_the_limit_stops_being_read(tmp_path, monkeypatch):
    tfds.builder("shakespeare_plays", data_dir=str(tmp_path)).download_and_prepare()
    monkeypatch.setenv("TFLLM_MAX_CORPUS_MB", "1")  # the 32 training plays hold about 4 MB
    with pytest.raises(CorpusError, match=r"more than the limit of 1 MB .* 'train\[:10%\]'"):
        load_corpus("tfds:shakespeare_plays", data_dir=tmp_path)
    # The three validation plays (about 0.3 MB) are within it.
    corpus = load_corpus("tfds:shakespeare_plays", tfds_split="validation", data_dir=tmp_path)
    assert len(corpus.train) == 3
