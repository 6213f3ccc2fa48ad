"""`tfllm bench`: what it prints (text and JSON), the options it passes on, and its errors."""

import json
import subprocess
import sys

import pytest
from cli_process import assert_one_line_error, run_cli as run_cli_process

from tfllm.cli.main import main
from tfllm.models import build_model
from tfllm.presets import get_preset

# Tiny and quick: the smoke preset on random ids, a 2-size matmul peak, 2 timed steps.
FAST = ["--data", "synthetic", "--vocabulary-size", "64", "--steps", "2", "--warmup-steps", "1",
        "--matmul-sizes", "32,64"]
JSON_KEYS = {
    "label", "model_class", "parameters", "vocabulary_size", "sequence_length", "batch_size",
    "micro_batch_size", "grad_accum_steps", "precision", "jit_compile", "steps_per_execution",
    "steps", "warmup_seconds",
    "seconds", "step_seconds", "tokens_per_second", "flops_per_token",
    "achieved_flops_per_second", "peak_dtype", "peak_flops_per_second", "mfu", "cpu_cores_used", "final_loss",
    "host_peak_rss_bytes", "device_peak_bytes",
}


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_report_for_the_smoke_preset(capsys):
    code, out, _ = run_cli(capsys, "bench", "--preset", "smoke", "--no-baby", "--json", *FAST)
    assert code == 0
    report = json.loads(out)
    assert report["preset"] == "smoke" and report["data"] == "synthetic"
    assert set(report["matmul_peak"]) == {"float32", "bfloat16"}
    assert all(peak["flops_per_second"] > 0 for peak in report["matmul_peak"].values())
    (result,) = report["results"]
    assert set(result) == JSON_KEYS
    smoke = get_preset("smoke")
    assert result["parameters"] == build_model(smoke.model, 64).count_params()
    assert result["batch_size"] == smoke.train.batch_size
    assert result["jit_compile"] is False  # the smoke preset's own choice
    assert result["tokens_per_second"] > 0 and result["step_seconds"] > 0
    # The peak is measured on 32 x 32 and 64 x 64 products only: check the ratio, not a bound.
    assert result["mfu"] == pytest.approx(
        result["achieved_flops_per_second"] / result["peak_flops_per_second"])


def test_text_report_names_every_figure(capsys):
    # The baby GPT's figures are the same code path (tests/benchmarking/test_benchmark_report.py
    # measures it): --no-baby keeps this test to one small model.
    code, out, _ = run_cli(capsys, "bench", "--preset", "smoke", "--jit", "off", "--no-baby", *FAST)
    assert code == 0
    assert out.startswith("matmul peak") and "float32" in out and "bfloat16" in out
    for fragment in ("smoke: GPT", "parameters", "batch 32 x 32", "tokens/s",
                     "step time", "MFU", "peak memory", "host peak RSS", "CPU cores used"):
        assert fragment in out, fragment


def test_options_reach_the_measurement(capsys):
    code, out, _ = run_cli(capsys, "bench", "--preset", "smoke", "--no-baby", "--json",
                           "--precision", "mixed_bfloat16", "--grad-accum-steps", "2",
                           "--set", "train.batch_size=8", *FAST)
    assert code == 0
    (result,) = json.loads(out)["results"]
    assert result["precision"] == "mixed_bfloat16" and result["peak_dtype"] == "bfloat16"
    assert (result["batch_size"], result["micro_batch_size"], result["grad_accum_steps"]) == (8, 4, 2)


@pytest.mark.parametrize("argv, fragments", [
    (["--preset", "shakespear"], ["Unknown preset 'shakespear'", "smoke"]),
    (["--preset", "smoke", "--grad-accum-steps", "3"],
     ["train.batch_size=32", "train.grad_accum_steps=3"]),
    (["--steps", "0"], ["--steps"]),
    (["--jit", "maybe"], ["--jit"]),
    (["--precision", "float64"], ["--precision"]),
    (["--matmul-sizes", "512,big"], ["--matmul-sizes"]),
])
def test_bad_arguments_exit_2_with_one_line(argv, fragments):
    # All found before TensorFlow is imported: each subprocess takes well under a second.
    assert_one_line_error(run_cli_process("bench", *FAST, *argv), *fragments)


def test_registering_the_command_does_not_import_tensorflow():
    code = (
        "import sys; from tfllm.cli.main import build_parser; "
        "build_parser().parse_args(['bench', '--preset', 'smoke']); "
        "assert 'tensorflow' not in sys.modules, 'TF imported'; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
