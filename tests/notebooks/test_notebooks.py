"""Every notebook runs top to bottom with SMOKE=1 (tiny runs, real data) and writes nothing into
the repository; the committed notebooks carry no outputs."""

import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPOSITORY = Path(__file__).parents[2]
NOTEBOOK_DIR = REPOSITORY / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
# Where a notebook writes when TFLLM_NOTEBOOK_OUTPUT is unset (relative to its folder).
DEFAULT_OUTPUT = "notebook-outputs"
# Per notebook: lines its outputs must contain, and files it must write under its output folder.
EXPECTED = {
    "01_char_gpt.ipynb": (
        ["reloaded model gives the same logits: True",
         "earlier logits unchanged by a later token: True",
         "bits per character", "every option:",
         "cached decoding equals a full pass: True"],
        ["runs/notebook-char-gpt/config.json", "saved_models/notebook-char-gpt/model.keras"],
    ),
    "02_keras_way.ipynb": (
        ["exact validation loss:", "bits per character after a few steps:",
         "'loss': 'MaskedCrossEntropy'", "TensorBoard"],
        ["runs/smoke-pieces/loss_curve.png"],
    ),
    "03_encoder_decoder.ipynb": (
        ["teacher forcing: labels are the decoder inputs shifted by one: True",
         "weights on real target tokens only: True", "padding changes nothing: True",
         "same output from them: True", "copy baseline", "rule-based baseline",
         "cross-attention map saved"],
        ["cross_attention.png"],
    ),
    "04_pretraining_and_classification.ipynb": (
        ["selected", "replaced by the mask id", "unigram floor", "from the floor", "frozen",
         "unfrozen", "fine-tuned encoder", "confusion matrix and reliability diagram saved"],
        ["confusion.png", "reliability.png", "pretraining_curve.png",
         "saved_models/notebook-finetune/model.keras"],
    ),
    "05_objectives_lab.ipynb": (
        ["cross-entropy", "smoothed 0.1", "Brier", "NLL at T", "reliability diagram saved"],
        ["lab/reliability.png", "lab/arms/cross-entropy/arm.json",
         "lab/arms/Brier/model/model.keras"],
    ),
    "06_serving.ipynb": (
        ["'status': 'ok'", "same seed, same sample: True",
         "streamed text equals the greedy answer above: True", "422 temperature",
         "422 max_new_tokens", "Stopped: every request answered"],
        ["saved_models/notebook-serving/model.keras"],
    ),
}


def _files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts)


def _git_status(folder):
    result = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", str(folder)],
        cwd=REPOSITORY, capture_output=True, text=True, check=True,
    )
    return result.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_leaves_no_files(path, tmp_path, monkeypatch):
    monkeypatch.setenv("SMOKE", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    output = tmp_path / "output"
    monkeypatch.setenv("TFLLM_NOTEBOOK_OUTPUT", str(output))
    files_before, status_before = _files_under(NOTEBOOK_DIR), _git_status(NOTEBOOK_DIR)
    notebook = nbformat.read(path, as_version=4)
    # The kernel starts in the notebook's own folder, as in Jupyter, so a relative path the
    # notebook writes to would land in the repository and fail the checks below.
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    lines, files = EXPECTED[path.name]  # every notebook states what its run must show
    for line in lines:
        assert line in text
    # Everything went to TFLLM_NOTEBOOK_OUTPUT; nothing new (ignored or not) in notebooks/.
    for file in files:
        assert (output / file).is_file(), file
    assert _files_under(NOTEBOOK_DIR) == files_before
    assert _git_status(NOTEBOOK_DIR) == status_before


def test_default_output_folder_is_ignored_by_git():
    probe = f"notebooks/{DEFAULT_OUTPUT}/runs/notebook-char-gpt/config.json"
    result = subprocess.run(["git", "check-ignore", "--quiet", probe], cwd=REPOSITORY)
    assert result.returncode == 0, f"{probe} is not ignored: add {DEFAULT_OUTPUT}/ to .gitignore"
    for path in NOTEBOOKS:  # the notebooks name that folder and that variable
        source = path.read_text(encoding="utf-8")
        assert "TFLLM_NOTEBOOK_OUTPUT" in source and DEFAULT_OUTPUT in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


def test_there_is_a_notebook():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"
