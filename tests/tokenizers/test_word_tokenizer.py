"""WordTokenizer: the API the word2vec helper uses, punctuation and newlines as tokens, the
frequency cut-off and size limit, lower-casing, unknown words, and detokenize's spacing."""

import json

import pytest

from tfllm.errors import CorpusError
from tfllm.tokenizers import WordTokenizer, load_tokenizer

TEXT = "To be, or not to be: that is the question.\nI'll go -- to be sure!\n"


def test_vocabulary_by_frequency_with_punctuation_tokens():
    tokenizer = WordTokenizer.from_texts([TEXT])
    vocabulary = tokenizer.vocabulary
    assert vocabulary[:5] == ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"]
    # be 3; then "\n", "-", "to" twice each, ties in code-point order ("To" is another word).
    assert vocabulary[5:9] == ["be", "\n", "-", "to"]
    assert {"I'll", ",", ":", ".", "!", "-", "To"} <= set(vocabulary)
    assert tokenizer.unk_id == 1
    ids = tokenizer.encode("I'll be -- there!")
    assert [vocabulary[i] for i in ids] == ["I'll", "be", "-", "-", "<unk>", "!"]


def test_cut_offs_and_lowercase():
    counts_cut = WordTokenizer.from_texts([TEXT], min_frequency=2)
    assert counts_cut.vocabulary[5:] == ["be", "\n", "-", "to"]
    assert WordTokenizer.from_texts([TEXT], max_vocabulary_size=7).vocabulary[5:] == ["be", "\n"]
    lower = WordTokenizer.from_texts([TEXT], lowercase=True)
    assert "To" not in lower.vocabulary and lower.vocabulary[5:7] == ["be", "to"]  # 3 each
    assert lower.encode("TO BE") == lower.encode("to be")
    with pytest.raises(CorpusError, match="No word occurs 9 times"):
        WordTokenizer.from_texts([TEXT], min_frequency=9)
    with pytest.raises(ValueError, match="min_frequency"):
        WordTokenizer.from_texts([TEXT], min_frequency=0)


def test_detokenize_spacing():
    tokenizer = WordTokenizer.from_texts([TEXT + "(aside) [exit]"])
    text = "To be, or not to be: that is the question.\nI'll go (aside) [exit]!"
    assert tokenizer.decode(tokenizer.encode(text)) == text
    # Extra spaces and tabs are not kept: word-level detokenizing normalises spacing.
    assert tokenizer.decode(tokenizer.encode("to  be\t,  or")) == "to be, or"
    assert tokenizer.decode(tokenizer.encode("to be zounds")) == "to be \ufffd"


def test_lowercase_is_saved_and_fingerprinted(tmp_path):
    tokenizer = WordTokenizer.from_texts([TEXT], lowercase=True)
    tokenizer.save(tmp_path)
    content = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    assert content["lowercase"] is True and content["kind"] == "word"
    loaded = load_tokenizer(tmp_path)
    assert loaded.lowercase and loaded.encode("TO BE") == tokenizer.encode("to be")
    cased = WordTokenizer(tokenizer.vocabulary, lowercase=False)
    assert cased.fingerprint != tokenizer.fingerprint


def test_word2vec_usage(training_text):
    tokenizer = WordTokenizer.from_texts([training_text], max_vocabulary_size=2000,
                                         min_frequency=2, lowercase=True)
    ids = tokenizer.tokenize([training_text, "the king"]).flat_values.numpy()
    # Macbeth has fewer than 2000 words seen twice: the cap is not reached, min_frequency rules.
    assert 1000 < tokenizer.vocabulary_size < 2000
    assert "king" in tokenizer.vocabulary and ids.max() < tokenizer.vocabulary_size
    assert 0 < (ids == tokenizer.unk_id).mean() < 0.1  # the words seen once
