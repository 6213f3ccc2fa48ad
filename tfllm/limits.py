"""Limits on every size a user controls, chosen so that one request fits a 24 GB, 2-core machine.

Each limit is checked before anything of that size is allocated (or a file of that size read),
and a request over it is a one-line error that states the limit and the environment variable
that raises it. The variable is `TFLLM_` + the constant's name (`TFLLM_MAX_NEW_TOKENS=200000`),
read at each check, so a shell, a notebook or a test can raise one for one command. The memory
figures below were measured on such a machine (TensorFlow 2.21, peak resident memory from
`resource.getrusage`); on a larger machine, raise the limits in proportion.

Plain Python: importable before TensorFlow, like `tfllm.config` and `tfllm.validation`.

Example:

>>> from tfllm.limits import check_at_most, current_limit
>>> current_limit("MAX_NEW_TOKENS")
65536
>>> check_at_most("max_new_tokens", 10**9, "MAX_NEW_TOKENS", "new tokens per continuation")
Traceback (most recent call last):
...
ValueError: max_new_tokens=1,000,000,000 is over the limit of 65,536 new tokens per continuation; \
raise it with the environment variable TFLLM_MAX_NEW_TOKENS=N. Received: max_new_tokens=1000000000
"""

import os

# Generation (`tfllm.generation.generate`, `tfllm generate`). A decoding row holds its history
# (int32) and one log-probability (float32) per new slot: 8 bytes a slot, and the compiled loop
# rewrites the history at every step, so a row costs O(N^2) work in its N new tokens: 65,536
# new tokens take 512 KiB a row and minutes of CPU, 10^9 would take 8 GB and never finish.
MAX_NEW_TOKENS = 65_536
# Rows decoded at once: prompts x num_return_sequences, or prompts x num_beams with beam
# search. A row costs its key/value cache plus (V,) logits, counts and sorted copies: about
# 1 MB for the shakespeare-char GPT and 5 MB for gpt-small, so 1,024 rows take 1-5 GB.
MAX_GENERATION_ROWS = 1_024
# Estimated memory of one decode (every row's cache, history, prefill logits and attention,
# `tfllm.generation.decode_memory`): 8 GiB leaves room on 24 GB for TensorFlow (about 1 GB),
# the model and XLA's temporary buffers.
MAX_GENERATION_MB = 8_192
# A --prompt-file is read whole: 16 MiB holds 1,024 prompts of 16 KiB (MAX_GENERATION_ROWS).
MAX_PROMPT_FILE_MB = 16

# Training (model arguments and train.batch_size). Measured: a GPT training step keeps about 16
# bytes per attention score (four float32 copies of the (B, N, T, T) scores of every layer
# for the backward pass: B=8, N=4, L=2, T=1024 took +1.06 GB for 268M bytes of scores), and
# about 290 KB per token of other activations at 6 layers of width 384 (B=128, T=64: +2.6 GB).
# The context T of one sequence: at T = 8,192 one head of one layer already holds 64M scores
# (1 GiB in training); 100,000 would need 160 GB.
MAX_SEQUENCE_LENGTH = 8_192
# Tokens per training batch, train.batch_size x model.sequence_length: 32,768 tokens of a
# 6-layer, 384-wide GPT keep about 9.3 GB of activations; 8x the shakespeare-char preset (32 x
# 128) and 16x gpt-small (8 x 256).
MAX_BATCH_TOKENS = 32_768
# Attention scores per training step, B x N x L x T^2 (batch, heads, layers, context): 2^29
# scores at 16 bytes each are 8 GiB. shakespeare-char uses 8.4M, gpt-small 19M.
MAX_ATTENTION_SCORES = 2**29

# Corpora. Reading, splitting and tokenizing a text took about 26 bytes of memory per byte of
# corpus at its peak (a 64 MB text file with a character tokenizer: +1.66 GB), so 512 MiB of
# text needs about 13 GB. The token stream then fits as well: a tokenizer makes at most one
# token per byte, 4 bytes each (2 GiB at the limit), well inside int32 positions.
MAX_CORPUS_MB = 512

# Tokenizers (`tfllm tokenizer train --vocab-size`). The vocabulary becomes a (V, D) embedding
# and a (D, V) output projection, and every training step computes (B, T, V) logits: at
# V = 262,144 the shakespeare-char batch (32 x 128 positions) already holds 4.3 GB of float32
# logits, and the learners' own tables grow with V too.
MAX_VOCABULARY_SIZE = 262_144

_MB = 2**20
LIMITS = ("MAX_NEW_TOKENS", "MAX_GENERATION_ROWS", "MAX_GENERATION_MB", "MAX_PROMPT_FILE_MB",
          "MAX_SEQUENCE_LENGTH", "MAX_BATCH_TOKENS", "MAX_ATTENTION_SCORES", "MAX_CORPUS_MB",
          "MAX_VOCABULARY_SIZE")


def environment_variable(name):
    """The environment variable that raises the limit `name`: "TFLLM_" + name."""
    return f"TFLLM_{name}"


def current_limit(name, error=ValueError):
    """The limit `name` (one of `LIMITS`) in force: its environment variable if set, else the
    default. A variable that is not a positive integer raises `error`."""
    if name not in LIMITS:
        raise ValueError(
            f"Unknown limit. Valid limits: {', '.join(LIMITS)}. Received: name={name!r}")
    variable = environment_variable(name)
    text = os.environ.get(variable, "").strip()
    if not text:
        return globals()[name]
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise error(f"{variable} must be a positive integer (it raises a tfllm limit). "
                    f"Received: {variable}={text!r}")
    return value


def raise_hint(name):
    """"raise it with the environment variable TFLLM_NAME=N": the end of an over-limit message."""
    return f"raise it with the environment variable {environment_variable(name)}=N"


def check_at_most(argument, value, name, what, error=ValueError, advice=None, received=None):
    """`value` if it is at most the limit `name`; else `error`, a one-line message that names
    `argument` (or a product of arguments, then `received` lists them), the limit (`what`: its
    unit), `advice` (what to change instead) and the variable that raises it."""
    limit = current_limit(name, error)
    if value > limit:
        shown = f"{argument}={value:,}" if received is None else f"{argument} = {value:,}"
        advice = f"{advice}, or " if advice else ""
        raise error(f"{shown} is over the limit of {limit:,} {what}; {advice}{raise_hint(name)}. "
                    f"Received: {received or f'{argument}={value!r}'}")
    return value


def generation_rows(num_prompts, num_return_sequences=1, num_beams=1):
    """Rows one `generate` call decodes at once: one per prompt and returned sequence, or one
    per prompt and beam with beam search."""
    return num_prompts * (num_beams if num_beams > 1 else num_return_sequences)


def check_generation_rows(num_prompts, num_return_sequences=1, num_beams=1, error=ValueError,
                          names=("num_return_sequences", "num_beams")):
    """The rows `generate` would decode (see `generation_rows`), if at most
    `MAX_GENERATION_ROWS`; `names` are the two arguments as the caller knows them."""
    rows = generation_rows(num_prompts, num_return_sequences, num_beams)
    limit = current_limit("MAX_GENERATION_ROWS", error)
    if rows > limit:
        factor, value = (names[1], num_beams) if num_beams > 1 else (names[0], num_return_sequences)
        raise error(
            f"{num_prompts:,} prompt(s) x {factor} {value:,} = {rows:,} rows decoded at once is "
            f"over the limit of {limit:,} rows; use fewer prompts or sequences per call, or "
            f"{raise_hint('MAX_GENERATION_ROWS')}. Received: {factor}={value} with "
            f"{num_prompts:,} prompt(s)"
        )
    return rows


def check_training_sizes(batch_size, model_arguments, sample_length=0, error=ValueError):
    """Checks the sizes of a training run against their limits: the context
    (`MAX_SEQUENCE_LENGTH`), the tokens and attention scores of one batch (`MAX_BATCH_TOKENS`,
    `MAX_ATTENTION_SCORES`) and the sample generated at each evaluation (`MAX_NEW_TOKENS`).

    Args:
        batch_size: train.batch_size (the global batch).
        model_arguments: the model's constructor arguments (`ModelConfig.config`, values
            already converted): `sequence_length`, and for an attention model `num_heads` and
            `num_layers`. An argument that is absent or not an int is not checked here (the
            model checks its own arguments when it is built).
        sample_length: train.sample_length.
        error: the error class to raise (the config's `ConfigError` for a run).
    """
    check_at_most("train.sample_length", sample_length, "MAX_NEW_TOKENS",
                  "new tokens per continuation", error)
    sequence_length = model_arguments.get("sequence_length")
    if not _is_int(sequence_length):
        return
    check_at_most("model.sequence_length", sequence_length, "MAX_SEQUENCE_LENGTH",
                  "positions of context", error)
    advice = "lower train.batch_size or model.sequence_length"
    check_at_most("train.batch_size x model.sequence_length", batch_size * sequence_length,
                  "MAX_BATCH_TOKENS", "tokens per training batch", error, advice,
                  f"train.batch_size={batch_size}, model.sequence_length={sequence_length}")
    heads, layers = model_arguments.get("num_heads"), model_arguments.get("num_layers")
    if _is_int(heads) and _is_int(layers):
        check_at_most(
            "train.batch_size x model.num_heads x model.num_layers x model.sequence_length^2",
            batch_size * heads * layers * sequence_length**2, "MAX_ATTENTION_SCORES",
            "attention scores per training step (16 bytes each)", error, advice,
            f"train.batch_size={batch_size}, model.num_heads={heads}, "
            f"model.num_layers={layers}, model.sequence_length={sequence_length}")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def megabytes(num_bytes):
    """`num_bytes` in MiB, for messages."""
    return num_bytes / _MB
