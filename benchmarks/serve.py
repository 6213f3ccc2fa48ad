"""Serving throughput and latency: `tfllm serve` with batching on against batching off, in one run.

Starts the real server (`python -m tfllm.cli.main serve`, its own process, so the clients'
threads never share the server's interpreter lock) twice on loopback: once batching up to
`--batch-rows` prompts per decoder call (waiting up to 5 ms for companions), once with
`--max-batch-rows 1` (every request decoded alone). Each time, `--clients` clients send the
same sampled request (`--new-tokens` new tokens, temperature 0.8, top-p 0.9, no seed) as fast
as they are answered for `--seconds`, after a warm-up that compiles every batch shape. It
prints requests/s, new tokens/s and latency percentiles for each, and the ratios.

The model: `--model DIR`, or by default the `shakespeare-char` preset's GPT with random weights
and the plays' character vocabulary (speed does not depend on what the weights say).

    python benchmarks/serve.py
    python benchmarks/serve.py --model saved_models/shakespeare-char --clients 16 --json
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfllm.server.load_test import load_test  # noqa: E402


def random_weights_model(path):
    """The shakespeare-char preset's model, untrained, saved as a model directory."""
    import keras

    from tfllm.data import load_corpus
    from tfllm.export import save_model_dir
    from tfllm.models import build_model
    from tfllm.presets import get_preset
    from tfllm.tokenizers import CharTokenizer

    keras.utils.set_random_seed(0)
    config = get_preset("shakespeare-char")
    tokenizer = CharTokenizer.from_texts([load_corpus(config.data.corpus).split_text("train")])
    model = build_model(config.model, tokenizer.vocabulary_size)
    return save_model_dir(path, model, tokenizer, config)


def start_server(model, batch_rows):
    flags = ["--max-batch-rows", str(batch_rows), "--max-prompts", "1", "--max-queue", "1024"]
    if batch_rows == 1:
        flags += ["--batch-wait-ms", "0"]
    server = subprocess.Popen(
        [sys.executable, "-m", "tfllm.cli.main", "serve", "--model", str(model), "--port", "0",
         *flags], stdout=subprocess.PIPE, text=True)
    banner = server.stdout.readline()
    if not banner.startswith("Serving"):
        server.kill()
        raise SystemExit(f"the server did not start: {banner!r}")
    port = banner.split("127.0.0.1:")[1].split("/")[0]
    return server, f"http://127.0.0.1:{port}"


def warm_up(url, body, batch_rows):
    """Compiles the decoder for every batch size the measured run can meet (1, 2, 4, ...)."""
    size = 1
    while size <= batch_rows:
        threads = [threading.Thread(target=load_test, args=(url, body),
                                    kwargs={"clients": 1, "seconds": 0.01})
                   for _ in range(size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        size *= 2


def measure(model, batch_rows, body, clients, seconds):
    server, url = start_server(model, batch_rows)
    try:
        warm_up(url, body, batch_rows)
        return load_test(url, body, clients=clients, seconds=seconds)
    finally:
        server.terminate()
        server.communicate(timeout=300)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a model directory (default: the preset, random weights)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--batch-rows", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    # min_new_tokens: every answer has the same length, whatever the random weights say.
    body = {"prompts": ["ROMEO:"], "max_new_tokens": args.new_tokens,
            "min_new_tokens": args.new_tokens, "temperature": 0.8, "top_p": 0.9}
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or random_weights_model(os.path.join(scratch, "shakespeare-char"))
        started = time.perf_counter()
        results = {
            "batching on": measure(model, args.batch_rows, body, args.clients, args.seconds),
            "batching off": measure(model, 1, body, args.clients, args.seconds),
        }
    on, off = results["batching on"], results["batching off"]
    ratios = {"requests_per_s": on["requests_per_s"] / max(off["requests_per_s"], 1e-9),
              "p50_latency": on["latency_s"]["p50"] / off["latency_s"]["p50"]}
    if args.json:
        print(json.dumps({"results": results, "ratios": ratios}, indent=2))
        return
    print(f"{args.clients} clients, {args.new_tokens} new tokens per request, {args.seconds:g} s "
          f"each, model {args.model or 'shakespeare-char (random weights)'}")
    print(f"{'':14}{'requests':>9}{'req/s':>8}{'tokens/s':>10}{'p50 s':>8}{'p95 s':>8}"
          f"{'p99 s':>8}{'failed':>8}")
    for name, result in results.items():
        latency = result["latency_s"]
        print(f"{name:14}{result['requests']:>9}{result['requests_per_s']:>8.2f}"
              f"{result['tokens_per_s']:>10.0f}{latency['p50']:>8.2f}{latency['p95']:>8.2f}"
              f"{latency['p99']:>8.2f}{sum(result['failed'].values()):>8}")
    print(f"batching on / off: {ratios['requests_per_s']:.2f}x requests/s, "
          f"{ratios['p50_latency']:.2f}x median latency "
          f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
