"""Presets of the masked-LM task (`tfllm.tasks.masked_lm`): a BERT-style encoder pre-trained
from scratch on the genre split's training plays, so that a classifier fine-tuned from it is
scored on plays it never read.
"""

from tfllm.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from tfllm.presets import register_preset

_SAMPLE_PROMPT = "Now is the winter of our discontent"  # Richard III: "winter" is masked

# Sized by measurement. On an idle 2-core machine a step takes about 880 ms with XLA or without
# (`tfllm train --preset shakespeare-mlm --set train.steps=60 --set train.eval_interval=30
# --set train.warmup_steps=5 --set train.jit_compile=true|false`: 84 s and 81 s of training),
# so XLA stays off (the model's default). At 600 steps the validation loss was 6.12 nats per
# masked token against the unigram floor of 6.33, barely off it, and fine-tuning from it lost to
# the bag-of-words baselines; at 2400 steps it reached 5.89 (docs/classification.md). 2400 steps
# take about 36 minutes, plus about 80 s to learn the WordPiece vocabulary and the validation
# passes. A higher peak learning rate did worse in 300-step runs (`--set train.steps=300 --set
# train.warmup_steps=30 --set train.learning_rate=...`): validation loss 6.34 and 6.30 at steps
# 200 and 300 with 5e-4, 6.41 and 6.32 with 1e-3.
_MLM_STEPS = 2400
register_preset(
    RunConfig(
        name="shakespeare-mlm",
        task="masked_lm",
        model=ModelConfig("BertMaskedLM", dict(
            sequence_length=128, num_layers=4, num_heads=4, hidden_dim=256,
            intermediate_dim=1024, dropout=0.1)),
        # WordPiece with its default vocabulary (about 4,000 pieces) learned from the training
        # plays: BERT's own scheme, and whole words to fill in.
        data=DataConfig(corpus="shakespeare", tokenizer="wordpiece"),
        train=TrainConfig(
            batch_size=32, steps=_MLM_STEPS, eval_interval=200, eval_batches=20,
            learning_rate=5e-4, min_learning_rate=1e-5, warmup_steps=_MLM_STEPS // 10,
            weight_decay=0.01, label_smoothing=0.0, sample_length=1,
            sample_prompt=_SAMPLE_PROMPT, jit_compile="auto",
        ),
    ),
    "BERT-style masked-LM pre-training on the genre split's training plays (~40 min, 2 cores)",
)

# Trains in seconds; the final evaluation scores every example of the six validation plays
# (about 440 batches of 64 examples of 32 characters), a few seconds more.
register_preset(
    RunConfig(
        name="smoke-mlm",
        task="masked_lm",
        model=ModelConfig("BertMaskedLM", dict(
            sequence_length=32, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32,
            dropout=0.0)),
        data=DataConfig(corpus="shakespeare", tokenizer="char"),
        train=TrainConfig(
            batch_size=64, steps=20, eval_interval=10, eval_batches=2, learning_rate=3e-3,
            min_learning_rate=1e-4, warmup_steps=2, log_every=5, sample_length=1,
            sample_prompt="To be, or not to be", jit_compile="false",
        ),
    ),
    "a tiny masked-LM encoder that trains in seconds (for tests and smoke checks)",
)
