"""The main job end to end on real data: train -> model directory -> evaluate -> generate."""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

from tfllm.cli.main import main


def test_train_writes_a_complete_model_directory(smoke_run):
    model_dir, run_dir, stdout = smoke_run
    for name in ("model.keras", "tokenizer/tokenizer.json", "config.json", "metrics.json",
                 "tfllm.json", "README.md", "loss_curve.png"):
        assert (model_dir / name).exists(), name
    assert (run_dir / "config.json").exists()
    assert not (run_dir / "backup").exists(), "a completed run removes its backup"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    # The smoke model learns real structure: below the uniform loss ln(V) ~ 4.4 nats and below
    # the ~3.3 nats a model that only knew character frequencies would score.
    assert metrics["loss"] < 3.0, metrics
    assert abs(metrics["bits_per_character"] - metrics["loss"] / 0.6931471805599453) < 1e-4
    assert "Validation (" in stdout and "perplexity" in stdout and "bits/char" in stdout
    assert "Sample:" in stdout
    assert (model_dir / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_json_matches_training_report(capsys, smoke_run):
    model_dir, _, _ = smoke_run
    assert main(["evaluate", "--model", str(model_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"loss", "perplexity", "bits_per_character", "tokens", "characters"} <= set(result)
    saved = json.loads((model_dir / "metrics.json").read_text())
    assert result["tokens"] == saved["tokens"] and result["split"] == "validation"
    assert abs(result["loss"] - saved["loss"]) < 1e-4


def test_evaluate_scores_the_whole_of_a_given_text(capsys, smoke_run, tmp_path):
    from tfllm.data import load_plays

    model_dir, _, _ = smoke_run
    text = next(p for p in load_plays() if p.slug == "macbeth").text[:5_000].strip("\n")
    (tmp_path / "scene.txt").write_text(text, encoding="utf-8")
    assert main(["evaluate", "--model", str(model_dir), "--corpus", str(tmp_path / "scene.txt")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"whole of {tmp_path / 'scene.txt'} ({len(text):,} characters, "), line
    assert "perplexity" in line and "bits_per_character" in line


def test_evaluation_line_names_what_was_scored():
    from tfllm.cli.main import evaluation_line

    result = {"corpus": "my.txt", "split": "whole", "characters": 123_456, "tokens": 61_728,
              "loss": 1.23456, "perplexity": 3.4368, "bits_per_character": 0.89}
    assert evaluation_line(result) == (
        "whole of my.txt (123,456 characters, 61,728 tokens): loss 1.2346, perplexity 3.437, "
        "bits_per_character 0.8900")
    assert evaluation_line(dict(result, corpus="shakespeare", split="test")).startswith(
        "test split of shakespeare (123,456 characters, 61,728 tokens): ")


def test_evaluate_test_split_is_a_different_text(capsys, smoke_run):
    model_dir, _, _ = smoke_run
    assert main(["evaluate", "--model", str(model_dir), "--split", "test", "--json"]) == 0
    test_result = json.loads(capsys.readouterr().out)
    saved = json.loads((model_dir / "metrics.json").read_text())
    assert test_result["split"] == "test" and test_result["tokens"] != saved["tokens"]


def test_generate_continues_the_prompt_reproducibly(capsys, smoke_run):
    model_dir, _, _ = smoke_run
    args = ["generate", "--model", str(model_dir), "--prompt", "ROMEO:", "--max-new-tokens", "40",
            "--seed", "7"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    second = capsys.readouterr().out
    assert first == second
    assert first.startswith("ROMEO:") and len(first.rstrip("\n")) == len("ROMEO:") + 40


def test_tensorboard_reader_finds_scalars_and_text_samples(smoke_run):
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    _, run_dir, _ = smoke_run
    multiplexer = EventMultiplexer(size_guidance={"tensors": 0})
    multiplexer.AddRunsFromDirectory(str(run_dir / "logs"))
    multiplexer.Reload()
    tags = {run: set(multiplexer.GetAccumulator(run).Tags()["tensors"]) for run in multiplexer.Runs()}
    all_tags = set().union(*tags.values())
    for tag in ("train/loss", "train/learning_rate", "train/tokens_per_second", "epoch_loss"):
        assert tag in all_tags, (tag, tags)
    text_tags = [t for t in all_tags if "sample" in t]
    assert text_tags, tags
    run = next(r for r, t in tags.items() if text_tags[0] in t)
    event = multiplexer.Tensors(run, text_tags[0])[-1]
    text = event.tensor_proto.string_val[0].decode()
    assert "ROMEO:" in text


def test_interrupted_training_resumes_and_replaces_the_model_atomically(tmp_path):
    run_dir, model_dir = tmp_path / "run", tmp_path / "model"
    args = ["train", "--preset", "smoke", "--quiet", "--run-dir", str(run_dir),
            "--output", str(model_dir), "--set", "train.steps=60", "--set", "train.eval_interval=6",
            "--set", "train.sample_length=0"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen([sys.executable, "-m", "tfllm", *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metadata = run_dir / "backup" / "training_metadata.json"
    deadline = time.time() + 120
    while time.time() < deadline and not metadata.exists():
        time.sleep(0.2)
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert metadata.exists(), "no checkpoint written within 120 s"
    assert not model_dir.exists(), "a killed run must not leave a final model"
    completed_epochs = json.loads(metadata.read_text())["epoch"]
    assert completed_epochs < 10, "the run finished before it could be killed; make it longer"

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(args) == 0
    assert f"Resuming {run_dir} from its checkpoint after epoch {completed_epochs} of 10" in out.getvalue()
    assert (model_dir / "model.keras").exists()
    assert not list(tmp_path.glob(".model.tmp-*")) and not list(tmp_path.glob(".model.old-*"))


def test_train_on_a_user_folder_of_text_files(tmp_path, capsys):
    from tfllm.data import load_plays

    plays = {p.slug: p for p in load_plays()}
    corpus = tmp_path / "my_texts"
    corpus.mkdir()
    (corpus / "hamlet.txt").write_text(plays["hamlet"].text[:40_000])
    (corpus / "lear.txt").write_text(plays["king-lear"].text[:40_000])
    model_dir = tmp_path / "model"
    code = main(["train", "--preset", "smoke", "--quiet", "--corpus", str(corpus),
                 "--set", "train.steps=20", "--set", "train.eval_interval=10",
                 "--run-dir", str(tmp_path / "run"), "--output", str(model_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Validation (hamlet.txt, lear.txt;" in out, out[-500:]
    config = json.loads((model_dir / "config.json").read_text())
    assert config["data"]["corpus"] == str(corpus)
    assert main(["evaluate", "--model", str(model_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # 5% of each 40,000-character file is validation text.
    assert 3_000 < result["tokens"] < 4_200, result
