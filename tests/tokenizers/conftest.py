"""Tiny trained tokenizers of every kind, shared by the tokenizer tests (trained once per session).

They learn from one play (Macbeth, about 100 KB) and are tested on lines of another (The Tempest),
so the tests meet words and characters the vocabularies have never seen.
"""

import pytest

from tfllm.data.shakespeare import load_plays
from tfllm.tokenizers import build_tokenizer

# Small vocabularies: the sentencepiece ones hold the 256 byte pieces as well.
OPTIONS = {
    "byte": {},
    "char": {},
    "word": {"vocabulary_size": 300},
    "wordpiece": {"vocabulary_size": 300},
    "sentencepiece-unigram": {"vocabulary_size": 400},
    "sentencepiece-bpe": {"vocabulary_size": 400},
}
KINDS = tuple(OPTIONS)


def _play(slug):
    return next(play for play in load_plays() if play.slug == slug).text


@pytest.fixture(scope="session")
def training_text():
    return _play("macbeth")


@pytest.fixture(scope="session")
def other_text():
    return _play("the-tempest")


@pytest.fixture(scope="session")
def trained_tokenizers(training_text):
    return {kind: build_tokenizer(kind, [training_text], **options) for kind, options in OPTIONS.items()}


@pytest.fixture(scope="session")
def sample_lines(other_text):
    edge_cases = ["", "   ", "é ☃ \t x\u00a0y", "<pad> <unk> <mask>", "Ay, 'tis -- so!\nNow."]
    return other_text.splitlines()[:120] + edge_cases
