"""`check_output_dir`: which paths a command may replace (in-process, plain Python)."""

import json
import subprocess
import sys

import pytest

from tfllm.errors import TfllmError
from tfllm.export import OutputPathError, check_output_dir
from tfllm.export.output_guard import written_kind


def fake_model_dir(path):
    path.mkdir(parents=True)
    (path / "model.keras").write_bytes(b"PK")
    (path / "tfllm.json").write_text(json.dumps({"tfllm_version": "0.1.0"}))
    return path


def fake_tokenizer_dir(path):
    path.mkdir(parents=True)
    (path / "tokenizer.json").write_text("{}")
    return path


def test_a_new_path_or_an_empty_directory_is_written_without_a_note(tmp_path):
    assert check_output_dir(tmp_path / "new") is None
    assert check_output_dir(tmp_path / "a" / "b" / "c") is None
    (tmp_path / "empty").mkdir()
    assert check_output_dir(tmp_path / "empty") is None


def test_a_folder_of_the_users_files_is_never_replaced(tmp_path):
    important = tmp_path / "important"
    important.mkdir()
    (important / "precious.txt").write_text("x")
    for overwrite in (False, True):
        with pytest.raises(OutputPathError, match="holds files tfllm did not write") as caught:
            check_output_dir(important, overwrite=overwrite)
        message = str(caught.value)
        assert "precious.txt" in message and str(important) in message and "\n" not in message
    assert isinstance(caught.value, TfllmError)


def test_a_directory_tfllm_wrote_is_replaced_with_a_note(tmp_path):
    model = fake_model_dir(tmp_path / "m")
    (model / "serving").mkdir()  # the default export lives inside: still tfllm's directory
    note = check_output_dir(model, kind="model")
    assert note == f"replacing the model directory tfllm wrote earlier at {model}"
    assert written_kind(model) == "model"
    assert check_output_dir(fake_tokenizer_dir(tmp_path / "t"), kind="tokenizer").startswith(
        "replacing the tokenizer directory"
    )


def test_another_kind_of_tfllm_directory_needs_overwrite(tmp_path):
    tokenizer = fake_tokenizer_dir(tmp_path / "t")
    with pytest.raises(OutputPathError, match="a tokenizer directory .* not a model directory"):
        check_output_dir(tokenizer, kind="model")
    assert "tokenizer directory" in check_output_dir(tokenizer, kind="model", overwrite=True)
    assert "tokenizer directory" in check_output_dir(tokenizer)  # kind=None: any of tfllm's


def test_a_manifest_that_is_not_tfllms_does_not_count(tmp_path):
    path = tmp_path / "m"
    path.mkdir()
    (path / "model.keras").write_bytes(b"PK")
    (path / "tfllm.json").write_text('{"mine": 1}')
    assert written_kind(path) is None
    with pytest.raises(OutputPathError, match="did not write"):
        check_output_dir(path, overwrite=True)


def test_a_regular_file_needs_overwrite(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("x")
    with pytest.raises(OutputPathError, match="is a file.*--overwrite"):
        check_output_dir(target)
    assert check_output_dir(target, overwrite=True) == f"replacing the file {target} (--overwrite)"


def test_a_symbolic_link_needs_overwrite_and_only_the_link_is_replaced(tmp_path):
    model = fake_model_dir(tmp_path / "m")
    (tmp_path / "link").symlink_to(model)
    with pytest.raises(OutputPathError, match="is a symbolic link .*give the directory it points"):
        check_output_dir(tmp_path / "link")
    assert "symbolic link" in check_output_dir(tmp_path / "link", overwrite=True)


def test_protected_paths_are_refused_even_with_overwrite(tmp_path):
    model = fake_model_dir(tmp_path / "runs" / "m")
    (tmp_path / "link").symlink_to(model)
    cases = {
        model: "is",
        model / "export": "lies inside",
        tmp_path / "runs": "holds",
        tmp_path / "link": "is",
        tmp_path / "runs" / "m" / ".." / "m": "is",
    }
    for path, relation in cases.items():
        with pytest.raises(OutputPathError, match=f"{relation} .*even with --overwrite"):
            check_output_dir(path, overwrite=True, protect=(model,))
    assert check_output_dir(tmp_path / "runs" / "m2", overwrite=True, protect=(model,)) is None


def test_a_path_under_a_regular_file_is_one_line(tmp_path):
    (tmp_path / "somefile").write_text("x")
    with pytest.raises(OutputPathError, match="somefile is not a directory"):
        check_output_dir(tmp_path / "somefile" / "sub" / "deeper", what="--output")


def test_a_folder_tfllm_may_not_write_is_refused_before_any_work(tmp_path, monkeypatch):
    # Root may write anywhere, so the permission check is exercised through os.access.
    import tfllm.export.output_guard as guard

    monkeypatch.setattr(guard.os, "access", lambda path, mode: False)
    with pytest.raises(OutputPathError, match=f"permission denied in {tmp_path}"):
        check_output_dir(tmp_path / "out")


def test_an_unknown_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="kind must be one of"):
        check_output_dir(tmp_path, kind="models")


def test_importing_it_does_not_import_tensorflow():
    code = ("import sys; from tfllm.export import check_output_dir; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr
