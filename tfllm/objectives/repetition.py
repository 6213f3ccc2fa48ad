"""How much generated text repeats itself, and how often it says words it should not.

`seq_rep_n` is the sequence-level repetition of "Neural Text Generation with Unlikelihood
Training" (Welleck et al., 2019): for one continuation x_1..x_L with its list of n-grams
G = [(x_i, ..., x_{i+n-1}) for i = 1..L-n+1],

    seq-rep-n(x) = 1 - |set(G)| / |G|

the share of its n-grams that repeat an earlier one (0 when no n-gram repeats; near 1 for a
continuation stuck in a loop; 0 when the continuation has fewer than n tokens, so |G| = 0).
The paper reports its mean over continuations (`mean_seq_rep_n`), with n = 4, on greedy
continuations of held-out prefixes.

`rate_per_thousand_characters(texts, words)` counts the occurrences of any of `words` in the
texts and divides by their total length:

    rate = 1000 * sum_texts count(text) / sum_texts len(text)

A word matches case-insensitively and whole: not preceded or followed by a letter, digit,
underscore or apostrophe. The apostrophe is part of a word as in tfllm's word tokenizer, so
"faith" is not counted inside "'faith", and "'sblood" (which starts with one) still matches
after a space. `count_words` gives the count alone and `word_pattern` the compiled pattern.

Example:

>>> seq_rep_n([1, 2, 3, 4, 1, 2, 3, 4], n=4)  # 5 4-grams, 4 distinct
0.2
>>> mean_seq_rep_n([[1, 2, 3, 4, 1, 2, 3, 4], [5, 6]], n=4)  # the short one counts 0
0.1
>>> rate_per_thousand_characters(["Marry, sir, I' faith!", "marry" + "." * 74], ["marry"])
20.0
"""

import re
import statistics

from tfllm.validation import check_positive_int


def _check_tokens(name, tokens):
    if isinstance(tokens, (str, bytes)) or not hasattr(tokens, "__iter__"):
        raise ValueError(f"`{name}` must be a sequence of tokens (e.g. a list of token ids). "
                         f"Received: {name}={tokens!r}")
    return list(tokens)


def seq_rep_n(tokens, n=4):
    """The share of repeated n-grams in one continuation (module docstring).

    Args:
        tokens: a sequence of hashable tokens (ids or strings), the continuation only.
        n: the n-gram order, a positive int.

    Returns:
        A float in [0, 1); 0.0 when `tokens` holds fewer than n tokens.
    """
    n = check_positive_int("n", n)
    tokens = _check_tokens("tokens", tokens)
    ngrams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    if not ngrams:
        return 0.0
    # (|G| - |set(G)|) / |G|: the same value as 1 - |set(G)| / |G|, without its rounding.
    return (len(ngrams) - len(set(ngrams))) / len(ngrams)


def mean_seq_rep_n(continuations, n=4):
    """The mean of `seq_rep_n` over continuations (each counts once, whatever its length).

    Args:
        continuations: a non-empty list of token sequences.
        n: the n-gram order.
    """
    if isinstance(continuations, (str, bytes)) or not hasattr(continuations, "__iter__"):
        raise ValueError(f"`continuations` must be a list of token sequences. "
                         f"Received: continuations={continuations!r}")
    continuations = list(continuations)
    if not continuations:
        raise ValueError("`continuations` must hold at least one continuation. "
                         "Received: continuations=[]")
    return statistics.fmean(seq_rep_n(_check_tokens(f"continuations[{index}]", tokens), n)
                            for index, tokens in enumerate(continuations))


def word_pattern(words):
    """The compiled pattern that finds any of `words` whole and case-insensitively."""
    if isinstance(words, str) or not hasattr(words, "__iter__"):
        raise ValueError(f"`words` must be a non-empty list of words. Received: words={words!r}")
    words = [word for word in words if isinstance(word, str) and word.strip()]
    if not words:
        raise ValueError(f"`words` must hold at least one non-empty word. Received: "
                         f"words={words!r}")
    # Longest first, so that an alternative never stops at a shorter word it starts with.
    alternatives = "|".join(re.escape(word.strip()) for word in sorted(words, key=len,
                                                                       reverse=True))
    return re.compile(rf"(?<![\w'])(?:{alternatives})(?![\w'])", re.IGNORECASE)


def count_words(texts, words):
    """The number of occurrences of any of `words` in `texts` (module docstring's matching)."""
    pattern = word_pattern(words)
    return sum(len(pattern.findall(text)) for text in _check_texts(texts))


def rate_per_thousand_characters(texts, words):
    """Occurrences of any of `words` per 1,000 characters of `texts` (module docstring).

    Args:
        texts: a list of strings with at least one character in all.
        words: the words to count (whole, case-insensitive).

    Returns:
        A float >= 0.
    """
    texts = _check_texts(texts)
    characters = sum(len(text) for text in texts)
    if not characters:
        raise ValueError("`texts` must hold at least one character to give a rate per 1,000 "
                         f"characters. Received: {len(texts)} empty text(s)")
    return 1000.0 * count_words(texts, words) / characters


def _check_texts(texts):
    if isinstance(texts, str) or not hasattr(texts, "__iter__"):
        raise ValueError(f"`texts` must be a list of strings. Received: texts={texts!r}")
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"`texts` must hold strings. Received: texts[{index}] of type "
                             f"{type(text).__name__}")
    return texts
