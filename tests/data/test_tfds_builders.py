"""TFDS builders: `shakespeare_plays` and `text_folder` load offline, registered by `import tfllm`."""

import doctest
import importlib
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

import tfllm  # noqa: F401  (registers the builders with TFDS)
from tfllm.data.shakespeare import GENRES, TEST_PLAYS, VALIDATION_PLAYS, load_plays
from tfllm.errors import CorpusError

tfds.disable_progress_bar()


@pytest.fixture(scope="module")
def plays_by_split(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    splits, info = tfds.load("shakespeare_plays", data_dir=str(data_dir), with_info=True)
    return {name: list(tfds.as_numpy(ds)) for name, ds in splits.items()}, info


def test_shakespeare_plays_splits_and_features(plays_by_split):
    examples, info = plays_by_split
    assert sorted(examples) == ["test", "train", "validation"]
    assert {name: len(rows) for name, rows in examples.items()} == {
        "train": 32, "validation": 3, "test": 3}
    assert set(info.features) == {"text", "title", "genre"}
    assert info.features["genre"].names == list(GENRES)
    by_title = {play.title: play for play in load_plays()}
    for split, slugs in (("validation", VALIDATION_PLAYS), ("test", TEST_PLAYS)):
        got = {by_title[row["title"].decode()].slug for row in examples[split]}
        assert got == set(slugs)
    train_titles = {row["title"].decode() for row in examples["train"]}
    assert len(train_titles) == 32 and not train_titles & {
        by_title[t].title for t in by_title if by_title[t].slug in VALIDATION_PLAYS + TEST_PLAYS}
    for rows in examples.values():
        for row in rows:  # the exact text and genre of the play, not a copy of something else
            play = by_title[row["title"].decode()]
            assert row["text"].decode() == play.text
            assert info.features["genre"].int2str(row["genre"]) == play.genre


@pytest.mark.parametrize("first", ["tfllm", "tfds"])
def test_import_order_and_import_cost(first):
    # `import tfllm` must not import TFDS or TensorFlow; importing TFDS afterwards still finds
    # the builder (the import hook), and so does importing it before (registered at once).
    tfllm_first = (
        "import sys, tfllm\n"
        "assert 'tensorflow_datasets' not in sys.modules and 'tensorflow' not in sys.modules\n"
        "import tensorflow_datasets as tfds\n"
    )
    code = (tfllm_first if first == "tfllm" else "import tensorflow_datasets as tfds, tfllm\n") + (
        "import tempfile\n"
        "tfds.disable_progress_bar()\n"
        "builder = tfds.builder('text_folder', data_dir=tempfile.mkdtemp())\n"
        "print(type(builder).__module__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("tfllm.data.tfds_builders.text_folder")


def _load_folder(folder, data_dir, **kwargs):
    config = tfds.download.DownloadConfig(manual_dir=str(folder))
    return tfds.load("text_folder", data_dir=str(data_dir), with_info=True,
                     download_and_prepare_kwargs={"download_config": config}, **kwargs)


def test_text_folder_happy_path(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    lines_a = "".join(f"alpha line {i}\n" for i in range(60))
    lines_b = "".join(f"beta line {i}\n" for i in range(40))
    (folder / "a.txt").write_text(lines_a, encoding="utf-8")
    (folder / "sub" / "b.txt").write_text(lines_b, encoding="utf-8")
    (folder / "ignored.md").write_text("not a text file", encoding="utf-8")
    splits, info = _load_folder(folder, tmp_path / "data")
    assert set(info.features) == {"text", "name"}
    rows = {split: sorted((r["name"].decode(), r["text"].decode()) for r in tfds.as_numpy(ds))
            for split, ds in splits.items()}
    assert sorted(rows) == ["test", "train", "validation"]
    for name, text in (("a.txt", lines_a), ("sub/b.txt", lines_b)):
        parts = [dict(rows[split])[name] for split in ("train", "validation", "test")]
        assert "".join(parts) == text  # the three parts are the file, in order, nothing lost
        assert 0.85 * len(text) < len(parts[0]) < 0.95 * len(text)


def test_text_folder_missing_and_empty_manual_dir(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(CorpusError) as info:
        _load_folder(missing, tmp_path / "data")
    message = str(info.value)
    assert "\n" not in message and str(missing) in message and "manual_dir" in message
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusError, match="does not exist or is empty"):
        _load_folder(empty, tmp_path / "data2")
    (empty / "notes.md").write_text("no txt here", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"no \.txt files"):
        _load_folder(empty, tmp_path / "data3")


@pytest.mark.parametrize("module", [
    "tfllm.data.tfds_builders", "tfllm.data.tfds_builders.shakespeare_plays",
    "tfllm.data.tfds_builders.text_folder",
])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
