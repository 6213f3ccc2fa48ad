"""Queries on word vectors by cosine similarity: neighbours, analogies, related pairs.

`nearest_neighbours(vectors, "king")` ranks the other words by cosine; `analogy(vectors, "man",
"king", "woman")` ("man is to king as woman is to ?", 3CosAdd) ranks the words nearest to
king - man + woman, the three inputs excluded; `related_pair_similarity` checks that known
related pairs (king/queen, night/day, ...) are closer than random pairs of frequent words.

They are operations on a `WordVectors` table and need only NumPy, so they live in `tfllm.data`
next to the table and its file formats (`word_vectors.py`) rather than next to the model that
may have trained the vectors (`tfllm.models.word2vec`): they work the same on vectors read from
any GloVe or word2vec file, and every later layer (models, export, experiments, the CLI) may use
them.

Example:

>>> import numpy as np
>>> from tfllm.data import WordVectors, analogy, nearest_neighbours
>>> vectors = WordVectors(["man", "woman", "king", "queen", "stone"],
...                       np.array([[1, -1], [-1, -1], [1, 1], [-1, 1], [0.2, -3]]))
>>> [(word, round(cosine, 3)) for word, cosine in analogy(vectors, "man", "king", "woman", k=1)]
[('queen', 1.0)]
>>> [word for word, _ in nearest_neighbours(vectors, "man", k=1)]
['stone']
"""

import difflib

import numpy as np

from tfllm.errors import WordVectorsError
from tfllm.validation import check_positive_int

# Pairs that any reader of the plays would call related; `related_pair_similarity` compares
# their cosines with those of random pairs of frequent words.
RELATED_PAIRS = (
    ("king", "queen"),
    ("lord", "lady"),
    ("father", "mother"),
    ("night", "day"),
    ("brother", "sister"),
    ("son", "daughter"),
    ("man", "woman"),
    ("husband", "wife"),
    ("sun", "moon"),
    ("heaven", "earth"),
)


def nearest_neighbours(vectors, word, k=10):
    """The `k` words with the highest cosine similarity to `word`, `word` itself excluded.

    Returns a list of `(word, cosine)`, most similar first. A word without a vector raises
    `WordVectorsError` with close spellings; a word found only in lowercase uses that form.
    """
    row = _row(vectors, word)
    return _ranked(vectors, _unit(vectors)[row], exclude={row}, k=k)


def analogy(vectors, a, b, c, k=5):
    """"a is to b as c is to ?": the `k` words nearest (by cosine) to b - a + c (unit vectors).

    This is 3CosAdd (Mikolov et al., 2013); a, b and c themselves are excluded. Returns a list of
    `(word, cosine)`.
    """
    rows = [_row(vectors, word) for word in (a, b, c)]
    unit = _unit(vectors)
    query = unit[rows[1]] - unit[rows[0]] + unit[rows[2]]
    return _ranked(vectors, query, exclude=set(rows), k=k)


def cosine_similarity(vectors, first, second):
    """The cosine similarity of two words' vectors."""
    unit = _unit(vectors)
    return float(unit[_row(vectors, first)] @ unit[_row(vectors, second)])


def related_pair_similarity(vectors, pairs=RELATED_PAIRS, *, num_random=2000, frequent=2000, seed=0):
    """Compares the cosines of known related pairs with those of random pairs.

    Random pairs are drawn (seeded) among the `frequent` first rows, which are the most frequent
    words when the table is in order of frequency (as `train_word2vec` saves it), so both sides
    compare words seen often enough to have trained vectors.

    Returns:
        dict: `pairs` {"a/b": cosine} for the pairs whose words both have vectors,
        `related_mean`, `random_mean`, `random_std`, and `fraction_above_random_p95`: the share
        of related pairs whose cosine beats the 95th percentile of the random ones.
    """
    unit = _unit(vectors)
    found = {f"{a}/{b}": float(unit[vectors.index[a]] @ unit[vectors.index[b]])
             for a, b in pairs if a in vectors and b in vectors}
    pool = min(frequent, len(vectors))
    rng = np.random.default_rng(seed)
    first, second = rng.integers(0, pool, size=(2, num_random))
    distinct = first != second
    random_cosines = np.sum(unit[first[distinct]] * unit[second[distinct]], axis=1)
    threshold = float(np.percentile(random_cosines, 95)) if random_cosines.size else float("nan")
    related = np.array(list(found.values()))
    return {
        "pairs": found,
        "related_mean": float(related.mean()) if related.size else float("nan"),
        "random_mean": float(random_cosines.mean()) if random_cosines.size else float("nan"),
        "random_std": float(random_cosines.std()) if random_cosines.size else float("nan"),
        "random_p95": threshold,
        "fraction_above_random_p95": float((related > threshold).mean()) if related.size else 0.0,
    }


def _unit(vectors):
    norms = np.linalg.norm(vectors.vectors, axis=1, keepdims=True)
    return vectors.vectors / np.maximum(norms, 1e-12)


def _row(vectors, word):
    if word in vectors.index:
        return vectors.index[word]
    if word.lower() in vectors.index:
        return vectors.index[word.lower()]
    close = difflib.get_close_matches(word.lower(), vectors.words[:20000], n=3)
    hint = f" Close: {', '.join(close)}." if close else ""
    raise WordVectorsError(
        f"The word {word!r} has no vector among the {len(vectors):,} words of these vectors.{hint} "
        f"Received: word={word!r}"
    )


def _ranked(vectors, query, exclude, k):
    k = check_positive_int("k", k, error=WordVectorsError)
    scores = _unit(vectors) @ (query / max(np.linalg.norm(query), 1e-12))  # (V,)
    scores[list(exclude)] = -np.inf
    k = min(k, len(vectors) - len(exclude))
    if k < 1:
        return []
    top = np.argpartition(-scores, k - 1)[:k]
    top = sorted(top, key=lambda i: -scores[i])
    return [(vectors.words[i], float(scores[i])) for i in top]
