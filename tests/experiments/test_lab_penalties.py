"""The lab's repetition and word-penalty experiments: their pure helpers on hand-made inputs
and their full-run configs. (Their smoke runs are in tests/experiments/test_lab.py, with every
experiment.)"""

import doctest
import math
from types import SimpleNamespace

import numpy as np
import pytest

from tfllm.data import Document, load_corpus
from tfllm.experiments.lab import conflicting_objectives as conflicting
from tfllm.experiments.lab import mismatched_generalisation as mismatched
from tfllm.experiments.lab import word_model
from tfllm.experiments.lab import unlikelihood
from tfllm.models import GPT
from tfllm.tokenizers import WordTokenizer



def test_word_model_docstring_example():
    result = doctest.testmod(word_model)
    assert result.attempted > 0 and result.failed == 0


def test_arm_config_budgets_and_pins_the_model():
    config = word_model.arm_config(False, "x", tokens=1_200_000, seed=3, unlikelihood=1.0)
    assert config.train.steps == 600 and config.train.seed == 3  # 2,048 tokens a step
    assert config.model.config == word_model.WORD_GPT and config.data.tokenizer == "word"
    char = mismatched._char_config(False, "large", 0.2)
    assert char.model.config["hidden_dim"] == 192 and char.model.config["dropout"] == 0.2
    assert char.data.tokenizer == "char" and char.train.steps == 1000


def test_line_prompts_are_fixed_and_evenly_spaced():
    text = "Title\n\nA:\n" + "".join(f"line {i} has enough words to be a prompt here\n"
                                      for i in range(10))
    prompts = word_model.line_prompts([Document("play", text)], 3, words=2)
    assert prompts == ["line 0", "line 3", "line 6"]
    with pytest.raises(ValueError, match="No spoken line"):
        word_model.line_prompts([Document("play", "Title\n\nA:\nshort\n")], 3)


def tiny_word_model():
    tokenizer = WordTokenizer.from_texts(["marry sir , good faith and more words here"])
    model = GPT(vocabulary_size=tokenizer.vocabulary_size, sequence_length=8, num_layers=1,
                num_heads=2, hidden_dim=8, intermediate_dim=16)
    return SimpleNamespace(model=model, tokenizer=tokenizer)


def test_banning_word_tokens_at_decoding():
    loaded = tiny_word_model()
    tokenizer = loaded.tokenizer
    assert word_model.single_token_words(tokenizer, ["Marry", "faithful", "faith"]) == [
        "Marry", "faith"]
    spellings = word_model.token_spellings(tokenizer, ["MARRY"])
    assert spellings == ["marry"]
    # A word tokenizer's unknown characters are those in no vocabulary word, so a
    # vocabulary word can be banned and a prompt keeps its letters.
    assert tokenizer.unknown_characters("marry ☃") == ["☃"]
    texts = [g.text for g in word_model.continuations(
        loaded, ["good sir"], max_new_tokens=30, temperature=1.0, seed=0,
        samples=4, jit_compile=False)]
    banned = [g.text for g in word_model.continuations(
        loaded, ["good sir"], max_new_tokens=30, temperature=1.0, seed=0,
        samples=4, banned_words=spellings, jit_compile=False)]
    assert any("marry" in text for text in texts)  # the untrained model says it at random
    assert not any("marry" in text for text in banned)


def test_pareto_front_and_poisson_error():
    points = [(1.0, 5.0), (1.2, 1.0), (1.5, 1.0), (1.0, 5.0), (0.9, 6.0)]
    assert conflicting.pareto_front(points) == [0, 1, 3, 4]
    assert math.isclose(conflicting.poisson_error(16, 2000), 2.0)
    assert math.isclose(conflicting.poisson_error(0, 1000), 1.0)


def test_comedy_corpus_and_priming_prompts():
    corpus, held_out = mismatched.comedy_corpus(load_corpus("shakespeare"))
    assert {d.label for d in corpus.train} == {"comedies"} and len(corpus.train) == 6
    assert [d.name for d in held_out["tragedies"]] == ["othello", "king-lear"]
    assert not {d.name for d in corpus.train} & {d.name for d in corpus.validation}
    text = "Title\nSPEED:\nMarry, sir.\nLAUNCE:\nI' faith, no.\n"
    prompts = mismatched.priming_prompts([Document("p", text)], ["marry", "faith"], 5,
                                         characters=12)
    assert prompts == ["SPEED:\n", "LAUNCE:\nI' "]
    assert mismatched.first_word_share([" Marry, sir", "\nno faith", "faithful"],
                                       ["marry", "faith"]) == pytest.approx(1 / 3)


def test_held_out_windows_and_unknown_share():
    tokenizer = tiny_word_model().tokenizer
    windows = unlikelihood.held_out_windows(
        tokenizer, [Document("p", "good sir , marry and more words here")], 2, 3)
    assert [len(w) for w in windows] == [3, 3] and windows[0] == tokenizer.encode("good sir ,")
    assert mismatched.unknown_share(tokenizer, ["good sir zebra", "marry"]) == 0.25


def test_readings_follow_their_numbers():
    scores = {alpha: dict(seq_rep=rep, perplexity=ppl, distinct=distinct)
              for alpha, rep, ppl, distinct in ((0.0, 0.6, 100.0, 300), (1.0, 0.3, 110.0, 500))}
    scores["no-repeat"] = dict(seq_rep=0.0, perplexity=100.0, distinct=400)
    lines = unlikelihood._reading(scores, (0.0, 1.0), human=0.01)
    assert "-50%" in lines[0] and "+10.0%" in lines[0] and "same sign" in lines[1]
    assert "not more than alpha=1.0's 500" in lines[3]
    gap = mismatched._gap_reading({
        "a": dict(size="small", dropout=0.0, comedies=2.0, tragedies=2.5, histories=2.3,
                  **{"training comedies": 1.9}),
        "b": dict(size="large", dropout=0.0, comedies=1.9, tragedies=2.6, histories=2.4,
                  **{"training comedies": 1.5})})
    assert "from 0.400 to 0.600 bits/char" in gap[2]
    shifted = mismatched._shift_reading({
        "word-penalty0.0": {"in": dict(rate=2.0, count=20, first_word=0.1),
                            "out": dict(rate=2.0, count=20, first_word=0.5)},
        "word-penalty1.0": {"in": dict(rate=0.5, count=5, first_word=0.0),
                            "out": dict(rate=1.5, count=15, first_word=0.4)}})
    assert "removed 75% of the rate" in shifted[0] and '"in" (75%)' in shifted[2]
    assert '"out" (25%)' in shifted[2]


def test_nll_on_words_splits_the_held_out_loss():
    loaded = tiny_word_model()
    loaded.config = SimpleNamespace(task="causal_lm", model=SimpleNamespace(
        config={"sequence_length": 8}))
    documents = [Document("p", "good sir , marry and more words here marry faith")]
    scores = conflicting.nll_on_words(loaded, documents, ["marry"])
    assert scores["word_tokens"] == 2 and np.isfinite(scores["nll_words"])
    # An untrained model is near uniform: about log V nats on every target.
    assert scores["nll_other"] == pytest.approx(math.log(loaded.tokenizer.vocabulary_size),
                                                rel=0.1)


def test_conflicting_reading_flags_seed_noise_and_explains_equal_penalties():
    def arm(bits, rate):
        return dict(bits_per_character=bits, rate=rate, count=int(rate * 1000),
                    characters=1_000_000, nll_words=7.5, nll_other=4.8, word_tokens=86)

    scores = {"likelihood": arm(1.8382, 0.25), "unlikelihood-1.0": arm(1.8373, 0.13),
              "probability_mass-1.0": arm(1.8373, 0.13), "ban": arm(1.8382, 0.026)}
    keys = list(scores)
    lines = conflicting._reading(scores, keys, front=set(keys[1:]))
    assert any("first order" in line for line in lines)
    (noise,) = [line for line in lines if "seed noise" in line]
    assert "span 0.0009 (1.8373 to 1.8382)" in noise
    # A wide spread is a finding, not noise; and penalties that differ get no explanation.
    scores["unlikelihood-1.0"] = arm(1.90, 0.10)
    lines = conflicting._reading(scores, keys, front=set(keys[1:]))
    assert not any("seed noise" in line or "first order" in line for line in lines)


def test_conflicting_reading_measures_costs_against_a_second_seed():
    def arm(bits, rate):
        return dict(bits_per_character=bits, rate=rate, count=int(rate * 1000),
                    characters=1_000_000, nll_words=7.5, nll_other=4.8, word_tokens=86)

    scores = {"unlikelihood-0.0": arm(1.8380, 0.25), "unlikelihood-1.0": arm(1.8390, 0.13),
              "unlikelihood-3.0": arm(1.8440, 0.08), "ban": arm(1.8380, 0.026),
              conflicting.SEED_ARM: arm(1.8360, 0.24)}
    keys = list(scores)
    lines = conflicting._reading(scores, keys, front=set(keys[1:]))
    (noise,) = [line for line in lines if line.startswith("Seed noise")]
    assert "1.8360 bits/char against 1.8380 at seed 1337 (0.0020 apart)" in noise
    assert "0.240 disallowed words per 1,000 characters against 0.250" in noise
    # lambda=1 is 0.0010 worse (within the noise); lambda=3 is 0.0060 worse (beyond it).
    assert "by more than that: unlikelihood, lambda=3.0;" in noise
    assert not any("span" in line for line in lines)  # the one-seed warning gives way
    assert "dominates 3 of the 3 trained arms" in lines[-1]  # the reseeded arm not counted


def test_conflicting_reading_with_gaps_both_ways_claims_no_cost():
    def arm(bits):
        return dict(bits_per_character=bits, rate=0.2, count=200, characters=1_000_000,
                    nll_words=7.5, nll_other=4.8, word_tokens=86)

    # The full run's figures: the seeds 0.00002 apart, lambda=0.3 0.0022 lower, lambda=3 0.0004
    # higher.
    scores = {"unlikelihood-0.0": arm(1.8382), "unlikelihood-0.3": arm(1.8360),
              "unlikelihood-3.0": arm(1.8386), "ban": arm(1.8382),
              conflicting.SEED_ARM: arm(1.83818)}
    keys = list(scores)
    (noise,) = [line for line in conflicting._reading(scores, keys, front=set(keys[1:]))
                if line.startswith("Seed noise")]
    assert ("gaps go both ways (higher: unlikelihood, lambda=3.0; lower: unlikelihood, "
            "lambda=0.3)") in noise
    assert "at seed 1337 (less than 0.0001 apart)" in noise
    assert "no penalty is shown to cost" in noise and "paid for" not in noise


def test_mismatched_reading_weighs_its_counts_and_scales():
    def cell(rate, count, unknown=0.0):
        return dict(rate=rate, count=count, first_word=0.0, unknown=unknown)

    # The report's own counts: 19 -> 11 words in distribution, 18 -> 8 in upper case.
    rates = {"word-penalty0.0": {"in": cell(0.165, 19), "upper": cell(0.153, 18)},
             "word-penalty1.0": {"in": cell(0.095, 11), "upper": cell(0.067, 8, unknown=0.76)}}
    lines = mismatched._shift_reading(rates)
    assert any("knows only 24%" in line for line in lines)
    assert "cannot tell the conditions apart" in lines[-1] and "8 to 19 words" in lines[-1]
    # With a hundred times the words, a penalty that removes nothing in upper case (and 42%
    # in distribution) is beyond the counts' noise.
    rates = {"word-penalty0.0": {"in": cell(0.165, 1900), "upper": cell(0.153, 1800)},
             "word-penalty1.0": {"in": cell(0.095, 1100), "upper": cell(0.153, 1800)}}
    assert 'held differently from "in" on: upper' in mismatched._shift_reading(rates)[-1]
    gap = mismatched._gap_reading({
        "a": dict(size="small", dropout=0.0, comedies=2.7, tragedies=2.74, histories=2.75,
                  **{"training comedies": 2.2}),
        "b": dict(size="small", dropout=0.2, comedies=2.9, tragedies=2.95, histories=3.0,
                  **{"training comedies": 2.6})})
    assert any("slowed learning" in line for line in gap)
    assert any("new plays far more than to new genres" in line for line in gap)
    assert "One seed per arm" in gap[-1]
