"""detokenize(tokenize(x)) == x, as property tests: on any printable text for the lossless kinds
(byte; SentencePiece with byte fallback; char on text of its own characters), and on text made of
in-vocabulary words for the word-level kinds (word, WordPiece), whose detokenize normalises
spacing."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# Printable text: any code point but surrogates, control characters other than "\n" and "\t",
# and U+2581 (SentencePiece's own space mark; see sentencepiece_tokenizer.py).
PRINTABLE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2581")
    | st.sampled_from("\n\t  "),
    max_size=60,
)


def _round_trip(tokenizer, text):
    return tokenizer.decode(tokenizer.encode(text))


@SETTINGS
@given(text=PRINTABLE | st.text(max_size=40))
def test_byte_is_lossless_on_any_text(trained_tokenizers, text):
    assert _round_trip(trained_tokenizers["byte"], text) == text


@SETTINGS
@given(text=PRINTABLE)
def test_sentencepiece_unigram_is_lossless_on_printable_text(trained_tokenizers, text):
    tokenizer = trained_tokenizers["sentencepiece-unigram"]
    assert _round_trip(tokenizer, text) == text
    assert tokenizer.unk_id not in tokenizer.encode(text)  # byte fallback: nothing unknown


@SETTINGS
@given(text=PRINTABLE)
def test_sentencepiece_bpe_is_lossless_on_printable_text(trained_tokenizers, text):
    tokenizer = trained_tokenizers["sentencepiece-bpe"]
    assert _round_trip(tokenizer, text) == text
    assert tokenizer.unk_id not in tokenizer.encode(text)


@st.composite
def _in_alphabet(draw, tokenizer):
    characters = [c for c in tokenizer.vocabulary[5:]]
    return draw(st.text(alphabet=st.sampled_from(characters), max_size=60))


@SETTINGS
@given(data=st.data())
def test_char_is_lossless_on_its_characters(trained_tokenizers, data):
    tokenizer = trained_tokenizers["char"]
    text = data.draw(_in_alphabet(tokenizer))
    assert _round_trip(tokenizer, text) == text
    assert tokenizer.unk_id not in tokenizer.encode(text)


def _vocabulary_words(tokenizer):
    return [w for w in tokenizer.vocabulary[5:] if w.isalnum()]


@st.composite
def _sentences(draw, words):
    """In-vocabulary words separated by single spaces, with optional , ; . ! ? after a word."""
    parts = draw(st.lists(st.tuples(st.sampled_from(words), st.sampled_from(["", "", ",", ".", "?"])),
                          min_size=1, max_size=12))
    return " ".join(word + mark for word, mark in parts)


@SETTINGS
@given(data=st.data())
def test_word_round_trip_on_in_vocabulary_text(trained_tokenizers, data):
    tokenizer = trained_tokenizers["word"]
    text = data.draw(_sentences(_vocabulary_words(tokenizer)))
    assert _round_trip(tokenizer, text) == text
    assert tokenizer.unk_id not in tokenizer.encode(text)


@SETTINGS
@given(data=st.data())
def test_wordpiece_round_trip_on_in_vocabulary_text(trained_tokenizers, data):
    tokenizer = trained_tokenizers["wordpiece"]
    words = _vocabulary_words(tokenizer)
    assert len(words) > 50
    text = data.draw(_sentences(words))
    assert _round_trip(tokenizer, text) == text
    # Words that are not whole pieces are spelt with continuation pieces, still without loss.
    vocabulary = set(tokenizer.vocabulary)
    assert all(c in vocabulary and "##" + c in vocabulary for c in string.ascii_lowercase)
    letters = data.draw(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12))
    assert _round_trip(tokenizer, letters) == letters
