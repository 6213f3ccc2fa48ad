"""Cleaning and normalisation: optional, documented steps applied to text before tokenizing.

Nothing here runs unless asked for: the language models in tfllm train on the text as written
(the plays' capitals, line breaks and punctuation are what a model learns to write). These
steps are for corpora that need them and for classic bag-of-words baselines. `TextCleaner`
applies, in this order, only the steps it is given:

1. `unicode_normalization="NFKC"` (or "NFC", "NFD", "NFKD"): tf-text's `normalize_utf8`.
   NFKC folds compatibility characters to their plain forms: the ligature "ﬁ" -> "fi",
   full-width "Ａ" -> "A", a no-break space -> a space, "½" -> "1⁄2".
2. `lowercase=True`: `tf.strings.lower(..., encoding="utf-8")`, Unicode-aware ("É" -> "é").
3. `whitespace="lines"`: within each line, runs of spaces, tabs and Unicode space separators
   become one space and spaces at line starts and ends go; "\\r\\n" and "\\r" become "\\n";
   three or more line breaks become one blank line; the text is stripped. Line structure stays.
   `whitespace="collapse"`: every whitespace run, line breaks included, becomes one space and
   the text is stripped: one line per text, as bag-of-words models see it.
4. `stop_words="english"` (the list shipped in `tfllm/data/resources/english_stop_words.txt`,
   `load_stop_words()`) or any collection of words: the text is split on whitespace, and each
   word whose lower-cased form without leading and trailing punctuation is a stop word is
   dropped ("The," goes with "the"); the remaining words are joined by single spaces, so line
   breaks go too. Meant for bag-of-words features, never for language-model text.

A `TextCleaner` works on Python `str` (returns `str`), lists of `str` (returns a list), and
`tf.string` tensors of any shape (returns the same shape), eagerly and inside
`tf.data.Dataset.map`. Its stop-word table is built once, when it is created.

Example:

>>> from tfllm.data.text_cleaning import TextCleaner
>>> clean = TextCleaner(unicode_normalization="NFKC", lowercase=True, whitespace="collapse",
...                     stop_words="english")
>>> clean("The  ﬁrst\\u00a0Witch:\\n  When shall WE three meet again?")  # "again": a stop word
'first witch: shall three meet'
"""

import importlib.resources
from pathlib import Path

import tensorflow as tf

from tfllm.validation import check_bool, check_choice

__all__ = ["TextCleaner", "clean_text", "load_stop_words", "UNICODE_FORMS", "WHITESPACE_MODES"]

UNICODE_FORMS = ("NFC", "NFKC", "NFD", "NFKD")
WHITESPACE_MODES = ("lines", "collapse")
STOP_WORD_LISTS = {"english": "english_stop_words.txt"}

# RE2 classes: `\s` is ASCII only, so Unicode space separators (\p{Zs}: no-break space,
# ideographic space, ...) are named explicitly.
_HORIZONTAL_SPACE = r"[\t\x0b\f \p{Zs}]+"
_ANY_SPACE = r"[\s\p{Z}]+"
_EDGE_PUNCTUATION = r"^[\p{P}\p{S}]+|[\p{P}\p{S}]+$"


def load_stop_words(name_or_path="english"):
    """A frozenset of stop words: a shipped list by name ("english") or a file, one word a line.

    Lines starting with "#" and blank lines are ignored; words are lower-cased.
    """
    if name_or_path in STOP_WORD_LISTS:
        resource = importlib.resources.files("tfllm.data") / "resources" / STOP_WORD_LISTS[name_or_path]
        text = resource.read_text(encoding="utf-8")
    else:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ValueError(
                f"stop_words must name a shipped list ({', '.join(STOP_WORD_LISTS)}) or a UTF-8 file "
                f"with one word per line. Received: stop_words={str(name_or_path)!r}"
            )
        text = path.read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


class TextCleaner:
    """Applies the chosen cleaning steps to text (see the module docstring for each step).

    Args:
        unicode_normalization: None, or one of "NFC", "NFKC", "NFD", "NFKD".
        lowercase: lower-case the text (Unicode-aware).
        whitespace: None, "lines" (tidy each line, keep line breaks) or "collapse" (one line).
        stop_words: None, "english", a path to a word list, or a collection of words to drop.

    Call arguments:
        texts: a `str`, a list of `str`, or a `tf.string` tensor of any shape.

    Returns:
        The cleaned text in the same form: `str`, list of `str`, or a tf.string tensor.

    Example:

    >>> TextCleaner(whitespace="lines")("  To be,\\t or not\\r\\n\\n\\n\\nto be  ")
    'To be, or not\\n\\nto be'
    """

    def __init__(self, *, unicode_normalization=None, lowercase=False, whitespace=None, stop_words=None):
        check_choice("unicode_normalization", unicode_normalization, (None,) + UNICODE_FORMS)
        check_bool("lowercase", lowercase, error=TypeError)
        check_choice("whitespace", whitespace, (None,) + WHITESPACE_MODES)
        self.unicode_normalization = unicode_normalization
        self.lowercase = lowercase
        self.whitespace = whitespace
        self.stop_words = stop_words
        if stop_words is None:
            self._stop_words, self._table = frozenset(), None
        else:
            if isinstance(stop_words, (str, Path)):
                words = load_stop_words(stop_words)
            elif all(isinstance(w, str) for w in stop_words):
                words = frozenset(w.lower() for w in stop_words)
            else:
                raise TypeError(
                    f"stop_words must be None, 'english', a path, or a collection of str. "
                    f"Received: stop_words={stop_words!r}"
                )
            self._stop_words = words
            # One hash table, built eagerly now and captured by every call (also inside tf.data).
            keys = tf.constant(sorted(words) or [""], tf.string)
            self._table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(keys, tf.ones_like(keys, tf.int32)), default_value=0
            )

    def get_config(self):
        """The arguments, JSON-serialisable (a custom stop-word collection as a sorted list)."""
        stop_words = self.stop_words
        if stop_words is not None and not isinstance(stop_words, str):
            stop_words = str(stop_words) if isinstance(stop_words, Path) else sorted(self._stop_words)
        return {
            "unicode_normalization": self.unicode_normalization,
            "lowercase": self.lowercase,
            "whitespace": self.whitespace,
            "stop_words": stop_words,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __call__(self, texts):
        if isinstance(texts, str):
            return self._clean(tf.constant(texts)).numpy().decode("utf-8")
        if isinstance(texts, list) and all(isinstance(t, str) for t in texts):
            if not texts:
                return []
            cleaned = self._clean(tf.constant(texts, tf.string)).numpy()
            return [t.decode("utf-8") for t in cleaned]
        texts = tf.convert_to_tensor(texts)
        if texts.dtype != tf.string:
            raise TypeError(
                f"texts must be str, a list of str or a tf.string tensor. Received: texts with dtype "
                f"{texts.dtype.name}"
            )
        return self._clean(texts)

    def _clean(self, texts):
        if self.unicode_normalization:
            import tensorflow_text  # ~2 s to import: only when NFKC & co. are asked for

            texts = tensorflow_text.normalize_utf8(texts, self.unicode_normalization)
        if self.lowercase:
            texts = tf.strings.lower(texts, encoding="utf-8")
        if self.whitespace == "lines":
            texts = tf.strings.regex_replace(texts, r"\r\n?", "\n")
            texts = tf.strings.regex_replace(texts, _HORIZONTAL_SPACE, " ")
            texts = tf.strings.regex_replace(texts, r"(?m)^ | $", "")  # spaces at line edges
            texts = tf.strings.regex_replace(texts, r"\n{3,}", "\n\n")
            texts = tf.strings.regex_replace(texts, r"^\n+|\n+$", "")
        elif self.whitespace == "collapse":
            texts = tf.strings.regex_replace(texts, _ANY_SPACE, " ")
            texts = tf.strings.strip(texts)
        if self._table is not None:
            texts = self._remove_stop_words(texts)
        return texts

    def _remove_stop_words(self, texts):
        shape = tf.shape(texts)
        flat = tf.reshape(texts, [-1])  # (N,)
        words = tf.strings.split(tf.strings.regex_replace(flat, _ANY_SPACE, " "), " ")  # (N, None)
        keys = tf.strings.regex_replace(
            tf.strings.lower(words.flat_values, encoding="utf-8"), _EDGE_PUNCTUATION, ""
        )  # (total words,)
        keep = (self._table.lookup(keys) == 0) & (tf.strings.length(words.flat_values) > 0)
        kept = tf.ragged.boolean_mask(words, words.with_flat_values(keep))  # (N, None)
        return tf.reshape(tf.strings.reduce_join(kept, axis=-1, separator=" "), shape)


def clean_text(texts, **steps):
    """`TextCleaner(**steps)(texts)`: one call for one-off cleaning (build a `TextCleaner` once
    to clean many batches, e.g. in `tf.data.Dataset.map`)."""
    return TextCleaner(**steps)(texts)
