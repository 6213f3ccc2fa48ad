"""The masked-LM task: the smoke preset trains end to end and reports loss, perplexity, accuracy,
masked tokens and the unigram floor; pre-training reads only the genre split's training plays;
model checks; the fill-in sample."""

import dataclasses
import math
import re

import pytest

from tfllm.config import TrainConfig
from tfllm.data import GENRE_TEST_PLAYS, GENRE_VALIDATION_PLAYS, Corpus, Document, load_corpus
from tfllm.errors import ConfigError, CorpusError
from tfllm.models import GPT, BertMaskedLM
from tfllm.presets import get_preset
from tfllm.tasks import get_task
from tfllm.tokenizers import build_tokenizer
from tfllm.training import train


def _shortened(corpus, characters):
    """`corpus` with every document cut to its first `characters` characters (so the whole
    validation split is scored in a second)."""
    return dataclasses.replace(corpus, **{
        split: [dataclasses.replace(d, text=d.text[:characters]) for d in corpus.documents(split)]
        for split in ("train", "validation", "test")})


def test_the_smoke_preset_trains_and_reports(tmp_path):
    config = get_preset("smoke-mlm")
    run = train(config, run_dir=tmp_path / "run", corpus=_shortened(load_corpus(), 3000),
                verbose=0, print_fn=lambda *_: None)
    report = run.metrics
    # Six validation plays of 3,000 characters: 100 windows of 30 each, round(0.15 * 30) = 4
    # masked per window (Python's round, half to even).
    assert report["tokens"] == 6 * 100 * 4
    assert math.isclose(report["perplexity"], math.exp(report["loss"]), rel_tol=1e-6)
    assert 0 < report["accuracy"] < 1
    # 20 steps already beat a uniform guess over the characters.
    assert report["unigram_floor"] > 0 and report["loss"] < math.log(
        run.tokenizer.vocabulary_size)
    assert {d.name for d in run.corpus.validation} == set(GENRE_VALIDATION_PLAYS.values())
    # "or", the middle (left of two) of the six words, masked whole: two characters.
    assert re.fullmatch(r"(?s)To be, \[MASK\]\[MASK\] not to be -> To be, .{0,2} not to be",
                        run.sample)
    line = get_task("masked_lm").describe(report)
    assert "nats/masked token" in line and "unigram floor" in line


def test_pre_training_excludes_the_genre_held_out_plays_and_keeps_other_corpora():
    task = get_task("masked_lm")
    corpus = task.corpus(load_corpus("shakespeare"))
    held_out = set(GENRE_VALIDATION_PLAYS.values()) | set(GENRE_TEST_PLAYS.values())
    assert len(corpus.train) == 26 and not {d.name for d in corpus.train} & held_out
    assert {d.name for d in corpus.test} == set(GENRE_TEST_PLAYS.values())
    # A user's corpus is pre-trained on as it is; the plays with some missing are an error.
    user = Corpus(name="notes.txt", train=[Document("a", "some text")], validation=[], test=[])
    assert task.corpus(user) is user
    with pytest.raises(CorpusError, match="needs the bundled plays"):
        task.corpus(dataclasses.replace(load_corpus("shakespeare"), train=[]))


def test_model_lengths_and_sample_checks():
    task = get_task("masked_lm")
    with pytest.raises(ConfigError, match=r"BertMaskedLM .*Received: model.class_name=.GPT."):
        task.check_model(GPT(vocabulary_size=8, sequence_length=4, num_layers=1, num_heads=1,
                             hidden_dim=4, intermediate_dim=8))
    with pytest.raises(ConfigError, match="model.sequence_length=2"):
        task.lengths({"sequence_length": 2})
    texts = ["to be or not to be"]
    tokenizer = build_tokenizer("char", texts)
    model = BertMaskedLM(vocabulary_size=tokenizer.vocabulary_size, sequence_length=10,
                         num_layers=1, num_heads=1, hidden_dim=8, intermediate_dim=8)
    task.check_model(model)
    assert task.sample(model, tokenizer, TrainConfig(sample_length=0)) is None
    # Eight ids fit [CLS] and [SEP] aside: "to be or" is kept, its middle word "be" masked.
    line = task.sample(model, tokenizer, TrainConfig(sample_prompt="to be or not"))
    assert re.fullmatch(r"(?s)to \[MASK\]\[MASK\] or -> to .{0,2} or", line)
    assert task.sample(model, tokenizer, TrainConfig(sample_prompt="   ")) is None
    assert task.decoded_report(model, tokenizer, [Document("a", "oeoe")]) == {
        "unigram_floor": pytest.approx(math.log(2))}
