"""`run_benchmark`: what `tfllm bench` prints, as one JSON-serialisable dict.

The matmul peaks (float32 and bfloat16 always, float16 when the config uses it) are measured
before and after the training runs, and the better of the two is what MFU divides by: a second
of someone else's work on a shared core halves a one-second measurement, and an understated
peak would overstate MFU. Between them, the config's model and (unless left out) the
`gpt-baby` preset's GPT train with the same vocabulary and training options.

Example:

>>> from tfllm.config import ModelConfig, RunConfig, TrainConfig
>>> model = ModelConfig("GPT", dict(sequence_length=8, num_layers=1, num_heads=2, hidden_dim=8,
...                                 intermediate_dim=32))
>>> config = RunConfig(name="tiny", model=model,
...                    train=TrainConfig(batch_size=4, jit_compile="false"))
>>> report = run_benchmark(config, steps=1, warmup_steps=1, data="synthetic",
...                        vocabulary_size=32, include_baby=False, matmul_sizes=(32,),
...                        matmul_repeats=1)
>>> sorted(report["matmul_peak"]), [r["label"] for r in report["results"]]
(['bfloat16', 'float32'], ['tiny'])
"""

import dataclasses
import os

from tfllm.benchmarking.matmul_peak import measure_matmul_peak
from tfllm.benchmarking.training_benchmark import benchmark_training
from tfllm.data import load_corpus, tokenize_corpus_text
from tfllm.errors import ConfigError
from tfllm.presets import get_preset
from tfllm.tokenizers import build_tokenizer
from tfllm.training.precision import PRECISIONS, check_precision
from tfllm.validation import check_positive_int

DATA_SOURCES = ("corpus", "synthetic")
# The preset whose model `run_benchmark` measures beside the config's: the reference point
# against keras-hub (benchmarks/train_throughput.py).
BABY_PRESET = "gpt-baby"


def baby_config(config):
    """`config` with the `gpt-baby` preset's model and batch size; other training options kept."""
    baby = get_preset(BABY_PRESET)
    return dataclasses.replace(
        config,
        name="baby",
        model=baby.model,
        train=dataclasses.replace(config.train, batch_size=baby.train.batch_size),
    )


def run_benchmark(
    config,
    *,
    steps=20,
    warmup_steps=3,
    data="corpus",
    include_baby=True,
    vocabulary_size=256,
    matmul_sizes=None,
    matmul_repeats=5,
):
    """The matmul peaks, then the config's and the baby GPT's training speed.

    Args:
        config: a `tfllm.config.RunConfig` (a preset, with any overrides).
        steps, warmup_steps: as for `benchmark_training`.
        data: "corpus" (the config's corpus and tokenizer: real windows, real vocabulary) or
            "synthetic" (random ids over `vocabulary_size`; nothing to load).
        include_baby: also measure the `gpt-baby` preset's GPT with the same vocabulary and
            training options.
        vocabulary_size: V for synthetic data.
        matmul_sizes, matmul_repeats: for `measure_matmul_peak`.
    Returns:
        `{"preset", "data", "vocabulary_size", "cpu_count", "matmul_peak": {dtype: {...}},
        "results": [...]}` (each result a `TrainingBenchmark.to_dict()`), JSON-serialisable.
    Raises:
        ConfigError: an unknown data source, or training options the baby's batch cannot
            take (checked before anything is measured).
    """
    if data not in DATA_SOURCES:
        raise ConfigError(
            f"data must be one of {', '.join(DATA_SOURCES)}. Received: data={data!r}"
        )
    compute_dtype = PRECISIONS[check_precision(config.train.precision)]
    # Built first, so a batch that the baby's options cannot split fails before any timing.
    configs = [(config, config.name)] + ([(baby_config(config), "baby")] if include_baby else [])
    token_ids, vocabulary_size = _token_ids(config, data, vocabulary_size)

    # float32 and bfloat16 always (the two a user chooses between), float16 when it is used.
    dtypes = ["float32", "bfloat16"] + (["float16"] if compute_dtype == "float16" else [])
    peaks = _measure_peaks(dtypes, matmul_sizes, matmul_repeats)
    results = [
        benchmark_training(each, vocabulary_size, steps=steps, warmup_steps=warmup_steps,
                           token_ids=token_ids, peak_flops=peaks, label=label)
        for each, label in configs
    ]
    later = _measure_peaks(dtypes, matmul_sizes, matmul_repeats)
    peaks = {dtype: max(peaks[dtype], later[dtype], key=lambda peak: peak.flops_per_second)
             for dtype in dtypes}
    return {
        "preset": config.name,
        "data": data,
        "vocabulary_size": int(vocabulary_size),
        # The cores this process may run on (a container or `taskset` may allow fewer).
        "cpu_count": (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count()),
        "matmul_peak": {dtype: peak.to_dict() for dtype, peak in peaks.items()},
        "results": [_against(result, peaks[result.peak_dtype]).to_dict() for result in results],
    }


def _token_ids(config, data, vocabulary_size):
    """`(token_ids, V)`: the config's tokenized training split, or None and `vocabulary_size`."""
    if data == "synthetic":
        return None, check_positive_int("vocabulary_size", vocabulary_size, ConfigError)
    corpus = load_corpus(config.data.corpus, encoding_errors=config.data.encoding_errors)
    tokenizer = build_tokenizer(config.data.tokenizer, [doc.text for doc in corpus.train])
    token_ids = tokenize_corpus_text(tokenizer, corpus.split_text("train"))
    return token_ids, tokenizer.vocabulary_size


def _measure_peaks(dtypes, sizes, repeats):
    return {dtype: measure_matmul_peak(dtype, sizes=sizes, repeats=repeats) for dtype in dtypes}


def _against(result, peak):
    """`result` with its MFU taken against `peak`."""
    return dataclasses.replace(
        result,
        peak_flops_per_second=peak.flops_per_second,
        mfu=result.achieved_flops_per_second / peak.flops_per_second,
    )
