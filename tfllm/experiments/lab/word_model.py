"""What the lab's generation experiments share: word-level GPT arms, prompts and continuations.

A penalty on chosen words needs each word to be one token, so these experiments train GPTs
on tfllm's word tokenizer (`DataConfig(tokenizer="word")`: whole words and apostrophes, each
punctuation mark and newline a token; learned from the training plays, at most 20,000 ids).
`arm_config` pins one model and recipe for every such arm; a smoke run swaps in the `smoke`
preset's tiny model and 10 steps. Prompts are fixed prefixes of spoken lines of held-out
plays (`line_prompts`), evenly spaced through them, so every arm continues the same text.

Example:

>>> config = arm_config(True, "demo", tokens=1_000_000, seed=1, unlikelihood=0.5)
>>> config.data.tokenizer, config.train.steps, config.train.unlikelihood
('word', 10, 0.5)
>>> from tfllm.data import Document
>>> line_prompts([Document("play", "Title\\n\\nHAMLET:\\nTo be, or not to be, that is the "
...                         "question:\\n")], 2, words=4)
['To be, or not']
"""

import dataclasses

from tfllm.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from tfllm.data.restoration_pairs import dialogue_lines
from tfllm.errors import ConfigError
from tfllm.experiments.lab.lab_run import steps_for_tokens
from tfllm.generation import generate
from tfllm.presets import GPT2_LAYOUT, get_preset
from tfllm.tasks.training_objective import penalty_token_ids
from tfllm.validation import check_positive_int

WORD_DATA = DataConfig(corpus="shakespeare", tokenizer="word")
# The word-level GPT of every full-run arm. Context 128 holds a 100-token continuation and
# its prompt without sliding; two layers keep a step cheap next to the 20,000-way output
# layer, which dominates the arithmetic (128 x 20,000 = 2.6M multiply-adds per token, against
# about 0.4M in the two blocks). Tied, the embedding and the output layer are one matrix. In
# GPT-2's layout, which the lab's reports were measured with.
WORD_GPT = dict(GPT2_LAYOUT, sequence_length=128, num_layers=2, num_heads=4, hidden_dim=128,
                intermediate_dim=512, dropout=0.0, tie_embeddings=True)
# 16 windows of 128 tokens: 2,048 tokens per step. `steps` is set from each arm's budget.
WORD_TRAIN = TrainConfig(batch_size=16, steps=100, eval_interval=100, eval_batches=20,
                         learning_rate=2e-3, min_learning_rate=1e-4, warmup_steps=100,
                         weight_decay=0.1, sample_length=0)


def arm_config(smoke, name, *, tokens, seed, model=None, data=WORD_DATA, base_train=WORD_TRAIN,
               **train):
    """The `RunConfig` of one arm.

    Args:
        smoke: the smoke preset's tiny GPT and 10 steps instead of `model` and `tokens`.
        name: the run's name.
        tokens: the training budget of a full run (rounded up to whole evaluation intervals).
        seed: weights, data order and dropout.
        model: the GPT's arguments (default `WORD_GPT`).
        data: the data section (default the word tokenizer on the plays).
        base_train: the recipe (default `WORD_TRAIN`); `train` overrides its fields.
    """
    if smoke:
        base = get_preset("smoke")
        return dataclasses.replace(base, name=name, data=data, train=dataclasses.replace(
            base.train, steps=10, eval_interval=10, warmup_steps=2, sample_length=0, seed=seed,
            **train))
    arguments = dict(WORD_GPT if model is None else model)
    steps = steps_for_tokens(tokens, base_train.batch_size, arguments["sequence_length"],
                             base_train.eval_interval)
    return RunConfig(name=name, model=ModelConfig("GPT", arguments), data=data,
                     train=dataclasses.replace(base_train, steps=steps, seed=seed, **train))


def describe_training(arm):
    """One line: steps x batch x context = tokens, and the recipe."""
    config = arm.config
    return (f"{config.train.steps} steps x {config.train.batch_size} x "
            f"{config.model.config['sequence_length']} = {arm.tokens:,} tokens per arm, AdamW "
            f"{config.train.learning_rate} with {config.train.warmup_steps} warmup steps, cosine "
            f"to {config.train.min_learning_rate}")


def line_prompts(documents, count, *, words=6, min_words=10):
    """`count` prompts: the first `words` words of spoken lines with at least `min_words`
    words, evenly spaced over those lines of `documents` (fewer when there are fewer lines).

    Raises `ValueError` when no line is long enough.
    """
    count = check_positive_int("count", count)
    words = check_positive_int("words", words)
    lines = [line.split() for document in documents for line in dialogue_lines(document.text)]
    lines = [line for line in lines if len(line) >= max(min_words, words)]
    if not lines:
        raise ValueError(f"No spoken line of the documents has {max(min_words, words)} words. "
                         f"Received: {len(documents)} document(s)")
    picked = sorted({index * len(lines) // count for index in range(count)})
    return [" ".join(lines[index][:words]) for index in picked]


def single_token_words(tokenizer, words):
    """The words of `words` that are one token of `tokenizer` in some casing (the words a
    penalty can name; `tfllm.tasks.training_objective.penalty_token_ids`), in their order."""
    kept = []
    for word in words:
        try:
            penalty_token_ids(tokenizer, word)
        except ConfigError:
            continue
        kept.append(word)
    return kept


def token_spellings(tokenizer, words):
    """Every spelling of `words` that is one token (as written, lower, capitalised, upper):
    the same ids a penalty on them trains against, as strings `generate(banned_words=...)`
    takes."""
    ids = penalty_token_ids(tokenizer, ",".join(words))
    return [tokenizer.vocabulary[token_id] for token_id in ids]


def continuations(loaded, prompts, *, max_new_tokens, temperature, seed=0, samples=1,
                  **options):
    """`Generation`s (text and token ids) continuing each prompt, `samples` per prompt, in
    prompt order, each exactly `max_new_tokens` long. `temperature=0` decodes greedily (then
    `samples` must be 1); `options` go to `tfllm.generation.generate` (e.g.
    `no_repeat_ngram_size`, `banned_words`)."""
    # The training windows hold no end-of-sequence token, so an undertrained model's rare end
    # id is noise; forbidding it gives every continuation the same length.
    options.setdefault("min_new_tokens", max_new_tokens)
    return generate(loaded.model, loaded.tokenizer, list(prompts),
                    max_new_tokens=max_new_tokens, temperature=temperature, seed=seed,
                    num_return_sequences=samples, return_details=True, **options)


def one_line(text, limit=300):
    """`text` on one table line: newlines as " / ", pipes escaped, at most `limit` characters."""
    text = text.replace("\n", " / ").replace("|", "\\|")
    return text if len(text) <= limit else text[:limit - 3] + "..."
