"""Cleaning steps: each does what its docstring says, only when asked, eagerly and in tf.data."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.data.text_cleaning import TextCleaner, clean_text, load_stop_words


def test_no_step_changes_nothing():
    text = "  ＡＢＣ ﬁne\u00a0DAY\r\n\n\n\nthe end  "
    assert clean_text(text) == text


def test_nfkc_folds_compatibility_characters():
    assert clean_text("ﬁne ＡＢＣ\u00a0½", unicode_normalization="NFKC") == "fine ABC 1\u20442"
    # NFC composes but keeps compatibility characters.
    assert clean_text("e\u0301 ﬁ", unicode_normalization="NFC") == "\u00e9 ﬁ"


def test_lowercase_is_unicode_aware():
    assert clean_text("ÉCOLE Straße MACBETH", lowercase=True) == "école straße macbeth"


def test_whitespace_lines_keeps_line_structure():
    text = "  First Witch:\t \r\nWhen  shall\u3000we three\n\n\n\n\nmeet again?  \n\n"
    assert clean_text(text, whitespace="lines") == "First Witch:\nWhen shall we three\n\nmeet again?"


def test_whitespace_collapse_gives_one_line():
    text = "  First Witch:\t \r\nWhen  shall\u00a0we\n\nthree  "
    assert clean_text(text, whitespace="collapse") == "First Witch: When shall we three"


def test_stop_words_shipped_list_and_punctuation():
    words = load_stop_words()
    assert {"the", "and", "of", "to"} <= words and "king" not in words and "thou" not in words
    assert all(w == w.lower() and " " not in w for w in words) and len(words) > 100
    cleaned = clean_text("The King, and THE queen: of Scotland!\nTo be", stop_words="english")
    assert cleaned == "King, queen: Scotland!"
    assert clean_text("thee and thou", stop_words={"Thee"}) == "and thou"


def test_stop_words_from_file(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("# my list\nking\n\nQueen\n", encoding="utf-8")
    assert load_stop_words(path) == {"king", "queen"}
    assert clean_text("the king and queen", stop_words=str(path)) == "the and"
    with pytest.raises(ValueError, match="stop_words must name a shipped list"):
        load_stop_words(tmp_path / "missing.txt")


def test_all_steps_in_order_and_in_tf_data():
    cleaner = TextCleaner(unicode_normalization="NFKC", lowercase=True, whitespace="collapse",
                          stop_words="english")
    texts = ["The ＫＩＮＧ\u00a0is  dead", "Long live\nthe KING", ""]
    eager = cleaner(texts)
    assert eager == ["king dead", "long live king", ""]  # "is", "the": stop words
    mapped = tf.data.Dataset.from_tensor_slices(texts).map(cleaner)
    assert [t.decode() for t in mapped.as_numpy_iterator()] == eager
    batched = tf.data.Dataset.from_tensor_slices(texts).batch(2).map(cleaner)
    assert [t.decode() for b in batched.as_numpy_iterator() for t in b] == eager
    matrix = cleaner(tf.constant([texts[:2], texts[1:]]))  # any shape in, same shape out
    assert matrix.shape == (2, 2) and matrix.numpy()[1, 0].decode() == "long live king"
    assert TextCleaner(**cleaner.get_config()).get_config() == cleaner.get_config()


@pytest.mark.parametrize("kwargs, pattern", [
    ({"unicode_normalization": "NFKX"},
     "`unicode_normalization` must be one of None, 'NFC', .* Received: unicode_normalization='NFKX'"),
    ({"whitespace": "tidy"},
     "`whitespace` must be one of None, 'lines', 'collapse'. Received: whitespace='tidy'"),
    ({"lowercase": "yes"}, "`lowercase` must be True or False. Received: lowercase='yes'"),
])
def test_bad_arguments(kwargs, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        TextCleaner(**kwargs)
    with pytest.raises(TypeError, match="texts must be str"):
        TextCleaner()(np.array([1, 2]))
