"""`LabRun`: the arms of one experiment, trained, kept and compared.

An experiment trains several *arms* (one config each: an objective, a weight, a seed) with
`LabRun.train`. Each arm is a whole tfllm run under the experiment's folder:

    <folder>/arms/<label>/run      the run directory (logs, checkpoints: an interrupted arm resumes)
    <folder>/arms/<label>/model    the saved model directory (what analyses reload)
    <folder>/arms/<label>/arm.json the config, metrics, validation curve and wall time
    <folder>/tensorboard/<label>   the arm's hyperparameters and final metrics (TensorBoard's
                                   HParams tab compares every arm of the experiment)

An arm whose `arm.json` holds the same config is not trained again, so re-running an
interrupted experiment only trains what is missing. Budgets are in tokens, not minutes (hosts
differ about 2x in speed): `steps_for_tokens` turns one into steps.

Example:

>>> steps_for_tokens(1_000_000, batch_size=32, tokens_per_example=128, eval_interval=50)
250
"""

import dataclasses
import json
import math
import os
import platform
import time
from pathlib import Path

import keras

from tfllm.atomic_files import write_bytes_atomically, write_text_atomically
from tfllm.config import RunConfig
from tfllm.errors import TfllmError
from tfllm.data import SPLITS, load_corpus
from tfllm.export import load_model_dir
from tfllm.experiments.training_run import run_training
from tfllm.validation import check_positive_int

# A smoke run's corpus keeps this many characters of each training document, and of each
# held-out one (`LabRun.corpus`). Every arm scores the whole held-out text once or twice, and a
# word-level arm's 20,000-way output makes that the larger part of its smoke run.
SMOKE_CHARACTERS = 20_000
SMOKE_HELD_OUT_CHARACTERS = 5_000


def steps_for_tokens(tokens, batch_size, tokens_per_example, eval_interval):
    """Steps that train on about `tokens` tokens, rounded up to whole evaluation intervals."""
    check_positive_int("tokens", tokens)
    per_step = check_positive_int("batch_size", batch_size) * check_positive_int(
        "tokens_per_example", tokens_per_example)
    intervals = math.ceil(tokens / per_step / check_positive_int("eval_interval", eval_interval))
    return max(1, intervals) * eval_interval


def scaled_recipe(config, tokens):
    """`{"steps", "warmup_steps"}` that train `config`'s recipe on about `tokens` tokens: the
    steps from `steps_for_tokens`, the warmup scaled by the same factor as the steps, so the
    schedule keeps its shape.

    >>> from tfllm.presets import get_preset
    >>> scaled_recipe(get_preset("shakespeare-char"), 4_915_200)  # half the preset's budget
    {'steps': 1200, 'warmup_steps': 100}
    """
    train = config.train
    steps = steps_for_tokens(tokens, train.batch_size, config.model.config["sequence_length"],
                             train.eval_interval)
    return {"steps": steps, "warmup_steps": train.warmup_steps * steps // train.steps}


def machine_description():
    """One line: the processor, its cores, the framework versions and how busy the machine was.

    The load average of the last 15 minutes says whether other work shared the cores while the
    arms trained: wall times and tokens/s are only comparable between runs on an idle machine,
    while losses (seeded) do not depend on it.
    """
    import tensorflow as tf

    processor = platform.processor() or platform.machine()
    cores = os.cpu_count()
    line = (f"{processor}, {cores} cores, Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[2]
        line += f"; load average {load:.1f} over the last 15 minutes"
        if load > 1.25 * cores:
            line += " (other work shared the cores: wall times are longer than on an idle machine)"
    return line


@dataclasses.dataclass
class Arm:
    """One trained arm: its config, final validation metrics, curve and costs."""

    label: str
    config: RunConfig
    metrics: dict
    curve: list  # one dict per validation pass: step, tokens, seconds, val_* figures
    train_seconds: float
    tokens: int
    model_dir: Path

    def load(self):
        """The saved model directory, loaded safely (`tfllm.export.load_model_dir`)."""
        return load_model_dir(self.model_dir)


class _EpochClock(keras.callbacks.Callback):
    """Wall time at the end of each epoch (one epoch = one evaluation interval)."""

    def on_train_begin(self, logs=None):
        self.start, self.seconds = time.perf_counter(), []

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def _tokens_per_step(config):
    sequence_length = config.model.config.get("sequence_length") or config.model.config.get(
        "target_length", 1)
    return config.train.batch_size * sequence_length


class LabRun:
    """The folder of one experiment and its arms (module docstring).

    Args:
        folder: where arms, PNGs and `report.md` go (created).
        smoke: a smoke run (tiny budgets; reports say so).
        print_fn: progress lines (one per arm).
    """

    def __init__(self, folder, *, smoke=False, print_fn=print):
        self.folder = Path(folder)
        self.smoke = smoke
        self.print_fn = print_fn
        self.arms = {}
        self.started = time.perf_counter()

    def train(self, label, config, *, corpus=None):
        """Trains arm `label` with `config` (or reuses its finished result) and returns its
        `Arm`. `corpus`: an already loaded corpus (default: the config's)."""
        arm_dir = self.folder / "arms" / label
        record = arm_dir / "arm.json"
        if record.exists():
            saved = json.loads(record.read_text())
            # Through from_dict, a config saved before a field existed gains its default, so a
            # new option (off by default) does not make every finished arm train again.
            if _same_config(saved["config"], config):
                arm = Arm(label, config, saved["metrics"], saved["curve"],
                          saved["train_seconds"], saved["tokens"], arm_dir / "model")
                self.arms[label] = arm
                self.print_fn(f"  {label}: reused ({arm.train_seconds:.0f} s of training)")
                return arm
        clock = _EpochClock()
        result = run_training(config, run_dir=arm_dir / "run", output_dir=arm_dir / "model",
                              corpus=corpus, verbose=0, overwrite=True,
                              print_fn=lambda *args: None, callbacks=[clock])
        per_step = _tokens_per_step(config)
        curve = _curve(result.history or {}, clock.seconds, config.train, per_step)
        arm = Arm(label, config, result.metrics, curve, result.train_seconds,
                  config.train.steps * per_step, arm_dir / "model")
        write_text_atomically(record, json.dumps(
            {"config": config.to_dict(), "metrics": _plain(arm.metrics), "curve": curve,
             "train_seconds": arm.train_seconds, "tokens": arm.tokens}, indent=1))
        self._log_hparams(arm)
        self.arms[label] = arm
        self.print_fn(f"  {label}: trained on {arm.tokens:,} tokens in "
                      f"{arm.train_seconds:.0f} s")
        return arm

    @property
    def generation_jit_compile(self):
        """`generate`'s XLA setting for the lab's decoding: a full run decodes thousands of
        tokens per model, which repay XLA's compile time; a smoke run decodes a few dozen, and
        compiling cost about 10 s per model on the 2-core machine."""
        return False if self.smoke else "auto"

    def corpus(self, spec="shakespeare"):
        """The corpus `spec` (`tfllm.data.load_corpus`); in a smoke run each training document
        is cut to its first `SMOKE_CHARACTERS` characters and each held-out one to its first
        `SMOKE_HELD_OUT_CHARACTERS`, so that the final evaluation of every arm and the lab's
        own scoring take seconds."""
        corpus = load_corpus(spec)
        if not self.smoke:
            return corpus
        return dataclasses.replace(corpus, **{
            split: [_cut(d, SMOKE_CHARACTERS if split == "train" else SMOKE_HELD_OUT_CHARACTERS)
                    for d in corpus.documents(split)]
            for split in SPLITS})

    def save_figure(self, filename, figure):
        """Writes a matplotlib `Figure` as a PNG in the folder (atomically); returns its name."""
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
        write_bytes_atomically(self.folder / filename, buffer.getvalue())
        return filename

    def elapsed(self):
        return time.perf_counter() - self.started

    def _log_hparams(self, arm):
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hparams_api

        values = {f"train.{k}": v for k, v in dataclasses.asdict(arm.config.train).items()
                  if isinstance(v, (bool, int, float, str))}
        values.update({f"model.{k}": v for k, v in arm.config.model.config.items()
                       if isinstance(v, (bool, int, float, str))})
        values["model.class_name"] = arm.config.model.class_name
        writer = tf.summary.create_file_writer(str(self.folder / "tensorboard" / arm.label))
        with writer.as_default():
            hparams_api.hparams(values, trial_id=arm.label)
            for name, value in arm.metrics.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    tf.summary.scalar(f"final/{name}", value, step=arm.config.train.steps)
        writer.close()


def _curve(history, seconds, train_config, tokens_per_step):
    """One point per validation pass: step, tokens, seconds and the val_* figures. A resumed
    arm's history holds only the passes after the resume: they are the last ones."""
    passes = len(history.get("val_loss", []))
    first = train_config.steps // train_config.eval_interval - passes
    points = []
    for index in range(passes):
        step = (first + index + 1) * train_config.eval_interval
        point = {"step": step, "tokens": step * tokens_per_step,
                 "seconds": seconds[index] if index < len(seconds) else None}
        point.update({name: float(values[index]) for name, values in history.items()
                      if name.startswith("val_") and index < len(values)})
        points.append(point)
    return points


def _same_config(saved, config):
    """Whether `saved` (an arm.json's config dict) describes `config`."""
    try:
        return RunConfig.from_dict(saved).to_dict() == config.to_dict()
    except TfllmError:  # a config this version cannot read: train the arm again
        return False


def _cut(document, characters):
    return dataclasses.replace(document, text=document.text[:characters])


def _plain(metrics):
    """The JSON-ready part of a metrics dict."""
    return {k: v for k, v in metrics.items()
            if isinstance(v, (bool, int, float, str, list, dict)) or v is None}
