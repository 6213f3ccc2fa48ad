"""`tfllm serve` as a user runs it: one-line refusals, a clean start, a graceful stop.

Everything goes through a real process: a mistake must be one line on stderr even though
TensorFlow writes its start-up lines to file descriptor 2, and a stop signal must let the
request in flight finish.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading

from cli_process import _environment, assert_one_line_error, run_cli, run_cli_cases


def test_refusals_are_one_line_and_come_before_tensorflow(untrained_model_dir, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        results = run_cli_cases({
            "port in use": ["serve", "--model", untrained_model_dir, "--port", port],
            "no model": ["serve", "--model", tmp_path / "nowhere"],
            "more prompts than rows": ["serve", "--model", untrained_model_dir,
                                       "--max-prompts", 9],
            "port out of range": ["serve", "--model", untrained_model_dir, "--port", 70000],
            "unknown host": ["serve", "--model", untrained_model_dir, "--host", "no.such.host."],
        })
    finally:
        taken.close()
    assert_one_line_error(results["port in use"], f"127.0.0.1:{port}", "--port")
    assert_one_line_error(results["no model"], "nowhere")
    assert_one_line_error(results["more prompts than rows"], "--max-prompts", "[1, 8]", "9")
    assert_one_line_error(results["port out of range"], "--port", "70000")
    assert_one_line_error(results["unknown host"], "--host", "no.such.host.")
    assert not any(result.tensorflow_imported for result in results.values())
    assert_one_line_error(run_cli("serve", "--model", untrained_model_dir, "--max-queue", "0"),
                          "--max-queue")


def test_sigterm_finishes_the_stream_in_flight_and_stderr_stays_empty(untrained_model_dir):
    server = subprocess.Popen(
        [sys.executable, "-m", "tfllm.cli.main", "serve", "--model", str(untrained_model_dir),
         "--port", "0", "--default-max-new-tokens", "60", "--no-warm-up"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment(None))
    try:
        banner = server.stdout.readline()
        assert banner.startswith("Serving model at http://127.0.0.1:"), banner
        port = int(banner.split("127.0.0.1:")[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("POST", "/v1/generate", json.dumps(
            {"prompts": ["ROMEO:"], "temperature": 0, "stream": True}))
        response = connection.getresponse()
        assert response.status == 200
        first = response.readline()
        assert first.startswith(b"data: {")
        stopper = threading.Timer(0.05, os.kill, (server.pid, signal.SIGTERM))
        stopper.start()
        rest = response.read().decode()
        stopper.join()
        events = [line[6:] for line in (first.decode() + rest).split("\n\n")
                  if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        assert json.loads(events[-2]) == {"index": 0, "finish_reason": "length",
                                          "num_tokens": 60}
        out, err = server.communicate(timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == -signal.SIGTERM  # uvicorn re-raises the signal once all is done
    assert "Stopped: every request answered (1 decoder calls for 1 prompts)." in out
    assert err == ""
