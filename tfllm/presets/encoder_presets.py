"""Presets of the masked-LM task (`tfllm.tasks.masked_lm`): a BERT-style encoder pre-trained
from scratch on the genre split's training plays, so that a classifier fine-tuned from it is
scored on plays it never read.
"""

from tfllm.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from tfllm.presets import register_preset

_SAMPLE_PROMPT = "Now is the winter of our discontent"  # Richard III: "winter" is masked

# Sized by measurement to train in about 20-25 minutes on 2 CPU cores: 2000-2700 ms per step
# (about 2300 typical), measured while the machine was shared, with `tfllm train --preset
# shakespeare-mlm --set train.steps=50 --set train.eval_interval=50 --set train.warmup_steps=5`
# and a loop of train_on_batch steps. XLA stays off (the model's default): train.jit_compile=true
# measured no faster there (2500-3300 ms per step). So 600 steps take about 23 minutes, plus
# about 80 s to learn the WordPiece vocabulary and about 1.5 minutes of validation passes.
_MLM_STEPS = 600
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
            batch_size=32, steps=_MLM_STEPS, eval_interval=100, eval_batches=20,
            learning_rate=5e-4, min_learning_rate=1e-5, warmup_steps=_MLM_STEPS // 10,
            weight_decay=0.01, label_smoothing=0.0, sample_length=1,
            sample_prompt=_SAMPLE_PROMPT, jit_compile="auto",
        ),
    ),
    "BERT-style masked-LM pre-training on the genre split's training plays (~25 min, 2 cores)",
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
