"""Two worker processes on localhost under MultiWorkerMirroredStrategy (the custom loop).

Each worker is a fresh Python process with its own TF_CONFIG, free localhost ports, no GPU and a
timeout. They train the same tiny config with dropout and op determinism on.
"""

import signal
import time

import numpy as np
import pytest
from distributed_test_utils import finish, load_weights, start_workers, tiny_config, write_corpus

from tfllm.training.custom_training_loop import PREEMPTED_EXIT_CODE


def _config(tmp_path, steps):
    return tiny_config(write_corpus(tmp_path), steps=steps, eval_interval=4,
                       strategy="multiworker", deterministic=True)


def _identical(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first, second))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The pair trained without interruption: (tmp_path, results, weights of worker 0 and 1)."""
    tmp_path = tmp_path_factory.mktemp("multi_worker")
    config = _config(tmp_path, steps=16)
    results = finish(start_workers(config, tmp_path / "run", tmp_path / "straight_"))
    return tmp_path, config, results


@pytest.mark.multiprocess  # a pair of fresh processes: 11-24 s on 2 shared CPU cores
def test_two_workers_finish_with_equal_weights(uninterrupted):
    tmp_path, _, results = uninterrupted
    for code, output in results:
        assert code == 0, output
        assert "multiworker" in output and "Loop: custom" in output and "2 replica(s)" in output
    first, second = (load_weights(tmp_path / f"straight_{i}.npz") for i in range(2))
    assert _identical(first, second)
    assert not _identical(first, [np.zeros_like(w) for w in first])


@pytest.mark.multiprocess  # two more pairs of processes: about 35 s on 2 shared CPU cores
def test_sigterm_to_one_worker_saves_exits_and_the_restarted_pair_matches(uninterrupted):
    tmp_path, config, _ = uninterrupted
    run_dir = tmp_path / "preempted"
    processes = start_workers(config, run_dir, tmp_path / "preempted_")
    deadline = time.time() + 120
    for line in processes[0].stdout:  # the chief reports each epoch
        if line.startswith("epoch 1 ") or time.time() > deadline:
            break
    processes[1].send_signal(signal.SIGTERM)
    results = finish(processes)
    for code, output in results:
        # Both workers save at the same step (the handler agrees on it) and exit with code 42.
        assert code == PREEMPTED_EXIT_CODE, output
    assert "Preempted (SIGTERM)" in results[1][1]
    assert not (tmp_path / "preempted_0.npz").exists()

    results = finish(start_workers(config, run_dir, tmp_path / "resumed_"))
    for code, output in results:
        assert code == 0, output
        assert f"Resuming {run_dir} from its checkpoint" in output
    straight = load_weights(tmp_path / "straight_0.npz")
    for index in range(2):
        assert _identical(load_weights(tmp_path / f"resumed_{index}.npz"), straight)
