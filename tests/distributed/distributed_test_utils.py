"""Shared pieces of the distributed and resume tests: a tiny corpus, a tiny config, workers."""

import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

from tfllm.config import DataConfig, ModelConfig, RunConfig, TrainConfig

WORKER_SCRIPT = Path(__file__).with_name("train_worker.py")
_WORDS = ("the king and queen of love shall speak unto thee my lord good night sweet prince "
          "what light through yonder window breaks").split()


def write_corpus(directory):
    """About 35 KB of seeded word salad: enough windows for every test, read in milliseconds."""
    rng = random.Random(0)
    path = Path(directory) / "corpus.txt"
    path.write_text("\n".join(" ".join(rng.choice(_WORDS) for _ in range(10)) for _ in range(600)))
    return path


def tiny_config(corpus, **train):
    """A 1-layer GPT (width 16, context 16, dropout 0.1) and a few steps of training."""
    defaults = dict(batch_size=8, steps=6, eval_interval=3, eval_batches=2, sample_length=0,
                    log_every=1, warmup_steps=1, learning_rate=1e-2, jit_compile="false")
    model = ModelConfig("GPT", dict(sequence_length=16, num_layers=1, num_heads=2, hidden_dim=16,
                                    intermediate_dim=32, dropout=train.pop("dropout", 0.1)))
    return RunConfig(name="tiny", model=model, data=DataConfig(corpus=str(corpus)),
                     train=TrainConfig(**{**defaults, **train}))


def weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def max_difference(first, second):
    assert len(first) == len(second)
    return max(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
               for a, b in zip(first, second))


def _free_port():
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def start_workers(config, run_dir, weights_prefix, count=2):
    """Starts `count` worker processes of one localhost cluster; returns the Popen objects.

    Each has its own TF_CONFIG and no GPU; worker i writes its final weights to
    `{weights_prefix}{i}.npz`.
    """
    ports = [_free_port() for _ in range(count)]
    processes = []
    for index in range(count):
        tf_config = {"cluster": {"worker": [f"localhost:{port}" for port in ports]},
                     "task": {"type": "worker", "index": index}}
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2",
                   TF_CONFIG=json.dumps(tf_config))
        processes.append(subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT), config.to_json(), str(run_dir),
             f"{weights_prefix}{index}.npz"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    return processes


def finish(processes, timeout=120):
    """Waits for every process (killing all on a timeout); returns [(returncode, output)]."""
    results = []
    try:
        for process in processes:
            output, _ = process.communicate(timeout=timeout)
            results.append((process.returncode, output))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def load_weights(path):
    with np.load(path) as archive:
        return [archive[f"arr_{i}"] for i in range(len(archive.files))]
