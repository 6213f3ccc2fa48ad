"""Per-step overhead of the baby GPT: candidate changes against today's code, in one run.

The baby shape (`gpt-baby`: 4 layers, width 128, context 64, batch 12) is small enough that
per-op overhead, not arithmetic, sets its speed. Each candidate below is a change to how the
same weights compute the same function; it is built here, beside the library, so that it can
be measured before it is kept:

- `fused-qkv`: the self-attention's query, key and value projections as one einsum over their
  three kernels side by side (D, N + 2K, H), then split, instead of three einsums. The weights
  (and so every saved model) are unchanged: the kernels are concatenated at each step.
- `one-mask`: the causal mask built once per forward pass and shared by the blocks, instead of
  once per block (each block's `causal_mask` call returns the tensor the first block built in
  the same trace).

Dropout at rate 0 is not a candidate: Keras's `Dropout` returns its input untouched when the
rate is 0, so it already costs nothing.

Every contender starts from the same seeded weights and trains on the same windows, in
alternating chunks (taking turns going first) so that a slow spell of the machine hits all of
them; the first chunk (compilation) is left out. It prints tokens/s and each candidate's ratio
to `baseline`, and checks first that each candidate's logits equal the baseline's (a candidate
that changed the function would not be an overhead change).

    python benchmarks/step_overhead.py                     # XLA on, 600 steps in chunks of 100
    python benchmarks/step_overhead.py --jit off --steps 300

Two-thread CPU timings vary up to 2x between runs: compare the ratios one run prints.
"""

import argparse
import contextlib
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_throughput  # noqa: E402
from tfllm.data import load_corpus, tokenize_corpus_text  # noqa: E402
from tfllm.layers import decoder_block, multi_head_attention, transformer_block  # noqa: E402
from tfllm.models import build_model, gpt  # noqa: E402
from tfllm.presets import get_preset  # noqa: E402
from tfllm.tokenizers import build_tokenizer  # noqa: E402


class FusedProjectionAttention(multi_head_attention.MultiHeadAttention):
    """`MultiHeadAttention` whose uncached self-attention projects q, k, v in one einsum."""

    def call(self, query, value=None, attention_mask=None, cache=None, cache_update_index=None,
             key_value=None, position_ids=None, training=None):
        if value is not None or cache is not None or key_value is not None:
            return super().call(query, value, attention_mask, cache, cache_update_index,
                                key_value, position_ids, training)
        queries, keys = self.num_heads, self._key_value_heads_count
        dense = (self.query_dense, self.key_dense, self.value_dense)
        kernel = ops.concatenate([ops.cast(d.kernel, self.compute_dtype) for d in dense], axis=1)
        heads = ops.einsum("btd,dfh->btfh", query, kernel)  # (B, T, N + 2K, H)
        if self.use_bias:
            heads = heads + ops.concatenate(
                [ops.cast(d.bias, self.compute_dtype) for d in dense], axis=0)
        query_heads = self._project(heads[:, :, :queries], "query", 0, position_ids)
        key_heads = self._project(heads[:, :, queries:queries + keys], "key", 0, position_ids)
        value_heads = heads[:, :, queries + keys:]
        context = self._attend(query_heads, key_heads, value_heads, False, attention_mask,
                               training)
        return self.output_dense(context)


@contextlib.contextmanager
def fused_qkv():
    """Blocks built inside this context use `FusedProjectionAttention`."""
    original = transformer_block.MultiHeadAttention
    transformer_block.MultiHeadAttention = FusedProjectionAttention
    try:
        yield
    finally:
        transformer_block.MultiHeadAttention = original


_masks = {}


def _shared_causal_mask(batch_size, query_length, key_length, cache_index=0):
    """`causal_mask`, returning the tensor built first for the same lengths in this graph (one
    model's forward pass per graph here, so the batch size is the same too)."""
    if tf.executing_eagerly():
        return _ORIGINAL_CAUSAL_MASK(batch_size, query_length, key_length, cache_index)
    key = (id(tf.compat.v1.get_default_graph()),
           *(tf.get_static_value(x) if tf.is_tensor(x) else x
             for x in (query_length, key_length, cache_index)))
    if key not in _masks:
        _masks[key] = _ORIGINAL_CAUSAL_MASK(batch_size, query_length, key_length, cache_index)
    return _masks[key]


_ORIGINAL_CAUSAL_MASK = decoder_block.causal_mask


class SharedMaskDecoderBlock(decoder_block.DecoderBlock):
    """`DecoderBlock` whose causal mask is the one the first block of the trace built."""

    def call(self, *args, **kwargs):
        decoder_block.causal_mask = _shared_causal_mask
        try:
            return super().call(*args, **kwargs)
        finally:
            decoder_block.causal_mask = _ORIGINAL_CAUSAL_MASK


@contextlib.contextmanager
def one_mask():
    """GPTs built inside this context use `SharedMaskDecoderBlock`."""
    original = gpt.DecoderBlock
    gpt.DecoderBlock = SharedMaskDecoderBlock
    try:
        yield
    finally:
        gpt.DecoderBlock = original


CANDIDATES = {"baseline": contextlib.nullcontext, "fused-qkv": fused_qkv, "one-mask": one_mask}


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="optimizer steps per contender")
    parser.add_argument("--chunk", type=int, default=100, help="steps per alternating chunk")
    parser.add_argument("--jit", choices=("on", "off"), default="on", help="XLA (default on)")
    candidates = [name for name in CANDIDATES if name != "baseline"]
    parser.add_argument("--candidates", nargs="+", choices=candidates, default=candidates,
                        help="the candidates to time against the baseline (default all)")
    parser.add_argument("--tiny", action="store_true", help="1 layer, width 16 (for the tests)")
    args = parser.parse_args(argv)
    if args.steps < 2 * args.chunk or args.steps % args.chunk:
        parser.error(f"--steps must be a multiple of --chunk, at least two chunks. Received: "
                     f"--steps {args.steps} --chunk {args.chunk}")
    return args


def baby_config(args):
    config = get_preset("gpt-baby")
    model = dict(config.model.config)
    if args.tiny:
        model.update(num_layers=1, hidden_dim=16, intermediate_dim=32, sequence_length=16)
    train = dataclasses.replace(config.train, jit_compile="true" if args.jit == "on" else "false")
    return dataclasses.replace(config, model=dataclasses.replace(config.model, config=model),
                               train=train)


def build_contenders(names, config, vocabulary_size):
    """{name: {"model", "clock"}}, each from seed 0, so their weights are equal; a candidate
    is in the layers its context builds, so it needs no context after."""
    contenders = {}
    for name in names:
        with CANDIDATES[name]():
            contenders[name] = train_throughput.build_contender(
                lambda v: build_model(config.model, v), vocabulary_size, config.train)
    return contenders


def check_same_function(contenders, token_ids):
    """Raises `AssertionError` unless every contender's logits equal the baseline's."""
    reference = None
    for name, entry in contenders.items():
        logits = np.asarray(tf.function(entry["model"])({"token_ids": token_ids}))
        if reference is None:
            reference = logits
        np.testing.assert_allclose(logits, reference, rtol=1e-4, atol=1e-5, err_msg=name)


def main(argv=None):
    args = parse_arguments(argv)
    config = baby_config(args)
    corpus = load_corpus(config.data.corpus)
    tokenizer = build_tokenizer(config.data.tokenizer, [d.text for d in corpus.train])
    train_ids = tokenize_corpus_text(tokenizer, corpus.split_text("train"))
    names = ["baseline", *args.candidates]
    contenders = build_contenders(names, config, tokenizer.vocabulary_size)
    length = config.model.config["sequence_length"]
    check_same_function(contenders, np.asarray(train_ids[: 2 * length]).reshape(2, length))
    train_throughput.train_in_alternating_chunks(contenders, train_ids, config, args.steps,
                                                 args.chunk)
    tokens_per_step = config.train.batch_size * length
    timed = args.steps - args.chunk
    speeds = {name: timed * tokens_per_step / entry["clock"].seconds
              for name, entry in contenders.items()}
    print(f"gpt-baby{' (tiny)' if args.tiny else ''}, XLA {args.jit}, {timed} timed steps "
          f"of {tokens_per_step} tokens per contender")
    for name, speed in speeds.items():
        print(f"  {name:10s} {speed:10,.0f} tokens/s  {speed / speeds['baseline']:.3f}x baseline")
    return speeds


if __name__ == "__main__":
    main()
