"""What the lab measures on a language model's held-out text, in one or two passes.

`next_token_scores` scores every next token of some documents with a loaded model: the NLL
against the hard target (nats per token and bits per character), accuracy, the expected
calibration error of the next-token distribution with its reliability bins, and temperature
scaling (the grid's best T, the NLL and ECE it reaches: a second pass with z / T). Every figure
is an exact weighted sum over the whole text (`tfllm.objectives`), so two arms scored on the
same documents compare token for token.
"""

import math

import tensorflow as tf

from tfllm.objectives import ExpectedCalibrationError, MaskedAccuracy, Perplexity
from tfllm.objectives.temperature_scaling import TemperatureSweep
from tfllm.tasks import get_task


def _scored_batches(loaded, documents, batch_size, max_batches):
    task = get_task(loaded.config.task)
    lengths = task.lengths(loaded.config.model.config)
    dataset, characters_per_token = task.evaluation_data(documents, loaded.tokenizer, lengths,
                                                         batch_size)
    if max_batches:
        dataset = dataset.take(max_batches)
    model = loaded.model

    @tf.function
    def logits_of(x):
        return tf.cast(model(x, training=False), tf.float32)

    return dataset, characters_per_token, logits_of


def next_token_scores(loaded, documents, *, batch_size=64, max_batches=None, num_bins=15,
                      temperatures=None):
    """Scores a loaded causal LM (`tfllm.export.load_model_dir`) on `documents`.

    Args:
        loaded: the loaded model directory.
        documents: `tfllm.data.Document`s (e.g. a corpus split).
        batch_size: windows per batch.
        max_batches: score only the first this many batches (None: all of them).
        num_bins: confidence bins of the ECE.
        temperatures: the grid temperature scaling searches (default
            `tfllm.objectives.temperature_grid()`, 0.5 to 3); a model whose outputs are not
            log-probabilities (a square loss on logits) may need a wider one.

    Returns:
        A dict: `nll` (nats per token), `bits_per_character`, `accuracy`, `ece`, `bins`
        (`ReliabilityBins`), `temperature` (the best of the grid),
        `temperature_at_grid_edge` (then the true best lies beyond the grid),
        `nll_at_temperature`, `bits_per_character_at_temperature`, `ece_at_temperature`,
        `bins_at_temperature`, `characters_per_token`, `tokens`.
    """
    dataset, characters_per_token, logits_of = _scored_batches(loaded, documents, batch_size,
                                                               max_batches)
    perplexity, accuracy = Perplexity(), MaskedAccuracy()
    ece = ExpectedCalibrationError(num_bins=num_bins)
    sweep = TemperatureSweep(temperatures=temperatures)
    for x, labels, weights in dataset:
        logits = logits_of(x)
        for metric in (perplexity, accuracy, ece, sweep):
            metric.update_state(labels, logits, sample_weight=weights)
    temperature, nll_at_temperature = sweep.best()
    scaled_ece = ExpectedCalibrationError(num_bins=num_bins)
    for x, labels, weights in dataset:
        scaled_ece.update_state(labels, logits_of(x) / temperature, sample_weight=weights)
    nll = float(perplexity.mean().numpy())
    return {
        "nll": nll,
        "bits_per_character": nll / math.log(2) / characters_per_token,
        "accuracy": float(accuracy.result().numpy()),
        "ece": float(ece.result().numpy()),
        "bins": ece.reliability_bins(),
        "temperature": temperature,
        "temperature_at_grid_edge": temperature in (sweep.temperatures[0],
                                                    sweep.temperatures[-1]),
        "nll_at_temperature": nll_at_temperature,
        "bits_per_character_at_temperature":
            nll_at_temperature / math.log(2) / characters_per_token,
        "ece_at_temperature": float(scaled_ece.result().numpy()),
        "bins_at_temperature": scaled_ece.reliability_bins(),
        "characters_per_token": characters_per_token,
        "tokens": int(perplexity.total_weight.numpy()),
    }
