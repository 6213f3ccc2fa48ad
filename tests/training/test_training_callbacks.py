"""ThroughputLogger, TextSampleLogger and LossCurvePlot in a tiny fit, read back with TensorBoard."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tfllm.objectives import MaskedCrossEntropy, Perplexity
from tfllm.training import (
    LossCurvePlot,
    TextSampleLogger,
    ThroughputLogger,
    WarmupCosineDecay,
    build_optimizer,
    plot_loss_curve,
)

B, T, V = 4, 8, 16
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tiny_model():
    inputs = keras.Input((T,), dtype="int32")
    logits = keras.layers.Dense(V)(keras.layers.Embedding(V, 8)(inputs))
    return keras.Model(inputs, logits)


def data(batches, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, size=(batches * B, T)).astype("int32")
    weights = np.ones_like(ids, dtype="float32")
    weights[:, -2:] = 0
    return tf.data.Dataset.from_tensor_slices((ids, ids, weights)).batch(B)


def read_events(log_dir):
    accumulator = EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    accumulator.Reload()
    scalars = {
        tag: [(event.step, float(tf.make_ndarray(event.tensor_proto))) for event in accumulator.Tensors(tag)]
        for tag in accumulator.Tags()["tensors"]
        if tag.startswith("train/")
    }
    return accumulator, scalars


class RecordLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batch_logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.batch_logs.append(dict(logs or {}))


def test_fit_with_all_three_callbacks(tmp_path):
    model = tiny_model()
    schedule = WarmupCosineDecay(1e-2, warmup_steps=3, decay_steps=8)
    model.compile(build_optimizer(schedule), loss=MaskedCrossEntropy(), weighted_metrics=[Perplexity()])
    steps_dir = tmp_path / "logs" / "steps"
    printed = []
    throughput = ThroughputLogger(tokens_per_step=B * T, log_dir=steps_dir, log_every=2)
    samples = TextSampleLogger(
        lambda m: "# not a heading <b>bold</b>\n*x*", log_dir=steps_dir, print_fn=printed.append
    )
    plot_path = tmp_path / "plots" / "loss_curve.png"
    plot = LossCurvePlot(plot_path, throughput_logger=throughput)
    recorder = RecordLogs()
    history = model.fit(
        data(4).repeat(),
        epochs=2,
        steps_per_epoch=4,
        validation_data=data(2, seed=1),
        callbacks=[throughput, samples, plot, recorder],
        verbose=0,
        shuffle=False,
    ).history

    # In-memory history: one mean loss per 2 steps; two intervals average to the epoch's loss.
    assert [step for step, _ in throughput.history] == [2, 4, 6, 8]
    losses = [loss for _, loss in throughput.history]
    np.testing.assert_allclose(np.mean(losses[:2]), history["loss"][0], rtol=1e-5)
    np.testing.assert_allclose(np.mean(losses[2:]), history["loss"][1], rtol=1e-5)
    assert throughput.first_step_seconds > 0
    # tokens_per_second reaches the logs of later callbacks at the logging steps.
    rates = [logs.get("tokens_per_second") for logs in recorder.batch_logs]
    assert [rate is not None for rate in rates] == [False, True, False, True] * 2
    assert all(rate > 0 for rate in rates if rate is not None)

    accumulator, scalars = read_events(steps_dir)
    assert {"train/loss", "train/learning_rate", "train/tokens_per_second", "train/first_step_seconds"} <= set(scalars)
    assert [step for step, _ in scalars["train/loss"]] == [2, 4, 6, 8]
    np.testing.assert_allclose([v for _, v in scalars["train/loss"]], losses, rtol=1e-5)
    # The rate that produced the update logged at step s is the schedule at s - 1.
    np.testing.assert_allclose(
        [v for _, v in scalars["train/learning_rate"]],
        [float(schedule(step - 1)) for step in (2, 4, 6, 8)],
        rtol=1e-6,
    )
    assert [step for step, _ in scalars["train/tokens_per_second"]] == [2, 4, 6, 8]

    # Text samples at steps 4 and 8, as Markdown code blocks.
    text_events = accumulator.Tensors("samples")
    assert [event.step for event in text_events] == [4, 8]
    text = tf.make_ndarray(text_events[0].tensor_proto).item().decode()
    assert text == "    # not a heading <b>bold</b>\n    *x*"
    assert len(printed) == 2 and "# not a heading" in printed[0] and "step 4" in printed[0]
    assert [step for step, _ in samples.samples] == [4, 8]

    # PNG written atomically: a valid PNG, no temporary file left behind.
    assert plot_path.read_bytes()[:8] == PNG_SIGNATURE
    assert os.listdir(plot_path.parent) == ["loss_curve.png"]
    assert plot.val_points and [step for step, _ in plot.val_points] == [4, 8]


def test_throughput_logger_without_log_dir_and_first_interval():
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.1), loss=MaskedCrossEntropy())
    throughput = ThroughputLogger(tokens_per_step=B * T, log_every=2)
    model.fit(data(4), epochs=1, callbacks=[throughput], verbose=0, shuffle=False)
    # The first interval leaves out the first (compiling) step: 1 step measured, still a rate.
    assert [step for step, _ in throughput.history] == [2, 4]
    assert throughput.last_tokens_per_second > 0


def test_loss_curve_plot_without_throughput_logger(tmp_path):
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.1), loss=MaskedCrossEntropy())
    plot = LossCurvePlot(tmp_path / "curve.png", title="tiny")
    model.fit(data(2), epochs=2, validation_data=data(1), callbacks=[plot], verbose=0, shuffle=False)
    assert [step for step, _ in plot.epoch_train_points] == [2, 4]
    image = __import__("matplotlib.image", fromlist=["imread"]).imread(tmp_path / "curve.png")
    assert image.ndim == 3 and image.shape[0] > 100


def test_plot_loss_curve_function(tmp_path):
    path = plot_loss_curve([(1, 3.0), (2, 2.5), (3, float("nan"))], [], tmp_path / "a" / "b.png")
    assert open(path, "rb").read(8) == PNG_SIGNATURE


@pytest.mark.parametrize(
    "factory, name",
    [
        (lambda: ThroughputLogger(0), "tokens_per_step"),
        (lambda: ThroughputLogger(8, log_every=0), "log_every"),
        (lambda: TextSampleLogger(lambda m: "", every_epochs=0), "every_epochs"),
    ],
)
def test_invalid_arguments_name_themselves(factory, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        factory()
    with pytest.raises(TypeError, match="sample_fn"):
        TextSampleLogger("not callable")


def test_sample_fn_must_return_text():
    model = tiny_model()
    model.compile(keras.optimizers.SGD(0.1), loss=MaskedCrossEntropy())
    with pytest.raises(TypeError, match="must return a str"):
        model.fit(data(1), callbacks=[TextSampleLogger(lambda m: 3, print_fn=None)], verbose=0, shuffle=False)
