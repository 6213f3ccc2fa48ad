"""The non-UTF-8 policies of `read_text_files` (strict | replace | skip) and empty corpora."""

import logging

import pytest

from tfllm.data import ENCODING_ERRORS, load_corpus, read_text_files
from tfllm.errors import CorpusError

GOOD = "To be, or not to be\n"


def _write_mixed(path):
    # Lines 1-3 UTF-8, line 4 Latin-1 ("café"), line 5 UTF-8, line 6 a lone continuation byte.
    data = (GOOD * 3).encode() + "caf\xe9\n".encode("latin-1") + "naïve\n".encode() + b"\x80 end\n"
    path.write_bytes(data)
    return len((GOOD * 3).encode()) + 3  # byte offset of the first bad byte


def test_policies_are_listed():
    assert ENCODING_ERRORS == ("strict", "replace", "skip")


def test_strict_names_file_line_and_offset(tmp_path):
    path = tmp_path / "mixed.txt"
    offset = _write_mixed(path)
    with pytest.raises(CorpusError) as info:
        read_text_files(tmp_path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert "line 4" in message and f"byte offset {offset}" in message
    assert "--encoding-errors skip" in message


def test_replace_keeps_every_line(tmp_path):
    _write_mixed(tmp_path / "mixed.txt")
    (document,) = read_text_files(tmp_path, encoding_errors="replace")
    assert document.text == GOOD * 3 + "caf\ufffd\nnaïve\n\ufffd end\n"


def test_skip_drops_bad_lines_and_reports_them(tmp_path, caplog):
    path = tmp_path / "mixed.txt"
    _write_mixed(path)
    (tmp_path / "clean.txt").write_text(GOOD, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="tfllm.data"):
        documents = read_text_files(tmp_path, encoding_errors="skip")
    assert [d.name for d in documents] == ["clean.txt", "mixed.txt"]
    assert documents[1].text == GOOD * 3 + "naïve\n"
    (record,) = caplog.records  # one warning, for the one file that lost lines
    message = record.getMessage()
    assert str(path) in message and "skipped 2 line(s)" in message and "line 4" in message


def test_skip_through_load_corpus_and_crlf(tmp_path, caplog):
    lines = [f"line {i}\r\n".encode() for i in range(40)]
    lines[10] = b"bad \xff\r\n"
    (tmp_path / "doc.txt").write_bytes(b"".join(lines))
    with caplog.at_level(logging.WARNING, logger="tfllm.data"):
        corpus = load_corpus(tmp_path, encoding_errors="skip")
    text = "".join(d.text for split in ("train", "validation", "test") for d in corpus.documents(split))
    assert "\r" not in text and "bad" not in text and text.count("\n") == 39
    assert "line 11" in caplog.text


def test_skip_all_lines_bad_reports_empty_corpus_with_counts(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"\xff\xfe\n\x80\n")
    (tmp_path / "b.txt").write_text("   \n\t\n\n", encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        read_text_files(tmp_path, encoding_errors="skip")
    message = str(info.value)
    assert "\n" not in message and "2 file(s) read" in message and "line(s) in all" in message


def test_empty_corpus_message_counts_files_and_lines(tmp_path):
    (tmp_path / "a.txt").write_text("\n\n  \n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("\t\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"empty: 2 file\(s\) read, 4 line\(s\) in all"):
        read_text_files(tmp_path)


def test_unknown_policy(tmp_path):
    with pytest.raises(CorpusError, match="strict, replace, skip. Received: encoding_errors='ignore'"):
        read_text_files(tmp_path, encoding_errors="ignore")


def test_cli_accepts_skip():
    from tfllm.cli.main import build_parser

    parser = build_parser()
    assert parser.parse_args(["train", "--encoding-errors", "skip"]).encoding_errors == "skip"
    args = parser.parse_args(["evaluate", "--model", "m", "--encoding-errors", "skip"])
    assert args.encoding_errors == "skip"
