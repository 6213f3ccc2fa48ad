"""`train()` and its run directory: nothing written before the run starts, a failed run does not
block the next, a finished run keeps nothing to resume."""

import json
import random

import keras
import numpy as np
import pytest

from tfllm.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from tfllm.errors import CorpusError, TrainingError
from tfllm.run_directory import inspect_run_dir
from tfllm.training import train

_WORDS = "the king and queen of love shall speak unto thee my lord good night sweet prince".split()


def _config(tmp_path, text=None, **settings):
    corpus = tmp_path / "corpus.txt"
    rng = random.Random(0)
    corpus.write_text(text if text is not None else "\n".join(
        " ".join(rng.choice(_WORDS) for _ in range(10)) for _ in range(400)))
    model = ModelConfig("GPT", dict(sequence_length=16, num_layers=1, num_heads=2, hidden_dim=16,
                                    intermediate_dim=32))
    train_settings = dict(batch_size=8, steps=4, eval_interval=2, eval_batches=1, sample_length=0,
                          warmup_steps=1, learning_rate=1e-2, jit_compile="false", loop="fit")
    return RunConfig(name="tiny", model=model, data=DataConfig(corpus=str(corpus)),
                     train=TrainConfig(**{**train_settings, **settings}))


class _PoisonAfterFirstStep(keras.callbacks.Callback):
    """Sets a weight to NaN after step 1, before any checkpoint: step 2's loss is NaN."""

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            variable = self.model.trainable_variables[0]
            variable.assign(np.full(variable.shape, np.nan, variable.dtype))


def test_a_run_that_fails_before_it_starts_writes_nothing(tmp_path):
    run_dir = tmp_path / "run"
    config = _config(tmp_path, text="ROMEO: Good night.\n")
    with pytest.raises(CorpusError, match="too small"):
        train(config, run_dir=run_dir, verbose=0, print_fn=lambda _: None)
    assert not run_dir.exists()
    # A completed run already there is left as it was: only a run that starts sets it aside.
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    (run_dir / "status.json").write_text(json.dumps({"state": "completed"}))
    with pytest.raises(CorpusError):
        train(config, run_dir=run_dir, verbose=0, print_fn=lambda _: None)
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json", "status.json"]
    assert not list(tmp_path.glob("run.previous-*"))


def test_a_nan_before_the_first_checkpoint_says_so_and_does_not_block_the_next_run(tmp_path):
    run_dir = tmp_path / "run"
    config = _config(tmp_path)
    with pytest.raises(TrainingError, match=r"loss became NaN.*stopped before its first "
                                            r"checkpoint, so there is nothing to resume"):
        train(config, run_dir=run_dir, verbose=0, callbacks=[_PoisonAfterFirstStep()],
              print_fn=lambda _: None)
    assert inspect_run_dir(run_dir).state == "unfinished"
    assert not (run_dir / "lock.json").exists()

    printed = []
    run = train(config, run_dir=run_dir, verbose=0, print_fn=printed.append)
    (aside,) = tmp_path.glob("run.previous-*")
    assert (f"The run directory {run_dir} held a run with no checkpoint to resume from: "
            f"moved it to {aside}.") in printed
    assert (aside / "logs").is_dir()
    assert np.isfinite(run.metrics["loss"]) and run.resumed_from_epoch == 0
    # `train` given a path completes the run itself: nothing is left to resume.
    assert inspect_run_dir(run_dir).state == "completed"
    assert not (run_dir / "backup").exists() and not (run_dir / "lock.json").exists()
