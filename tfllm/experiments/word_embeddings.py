"""Word embeddings as whole runs: train word2vec on a corpus, save a vectors directory, query it.

`train_word2vec` learns a lowercase word vocabulary from a corpus's training split (the bundled
plays by default), trains `tfllm.models.Word2Vec` on `tfllm.data.skipgram_dataset`, and saves

    saved_models/<name>/
        vectors.txt          word2vec text format, words in order of frequency (any word2vec /
                             GloVe reader takes it; `read_word_vectors` reads it back)
        vocabulary.tsv       word <tab> count in the training split, same order, with a header
        tokenizer/           the WordTokenizer that produced the ids (`load_tokenizer`)
        metadata.json        settings, corpus, sizes, time, final loss, related-pair figures
        projector/           tensors.tsv + metadata.tsv + projector_config.pbtxt:
                             `tensorboard --logdir saved_models/<name>/projector`

written to a temporary sibling and renamed into place. Only words that occurred in the training
stream get a row: special tokens and pure punctuation are left out of training and of the file.

Queries work on any `WordVectors` (trained here or read from a GloVe/word2vec file), by cosine
similarity: `nearest_neighbours(vectors, "king")`, `analogy(vectors, "man", "king", "woman")`
("man is to king as woman is to ?", 3CosAdd: the words nearest to king - man + woman, the three
inputs excluded), and `related_pair_similarity`, the check that known related pairs (king/queen,
night/day, ...) are closer than random pairs of frequent words.

Example:

>>> from tfllm.experiments import load_vectors, nearest_neighbours, train_word2vec
>>> result = train_word2vec(output_dir="saved_models/w2v")  # doctest: +SKIP
>>> nearest_neighbours(load_vectors("saved_models/w2v"), "king", k=3)  # doctest: +SKIP
[('queen', 0.71...), ...]
"""

import dataclasses
import difflib
import json
import time
from pathlib import Path

import keras
import numpy as np

import tfllm
from tfllm.data import (
    WordVectors,
    WordVectorsError,
    load_corpus,
    read_word_vectors,
    skipgram_dataset,
    write_word_vectors,
)
from tfllm.export.staged_directory import staged_directory
from tfllm.models import Word2Vec
from tfllm.tokenizers import WordTokenizer

VECTORS_FILE = "vectors.txt"
VOCABULARY_FILE = "vocabulary.tsv"
METADATA_FILE = "metadata.json"
TOKENIZER_DIR = "tokenizer"
PROJECTOR_DIR = "projector"
PROJECTOR_CONFIG = "projector_config.pbtxt"
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


@dataclasses.dataclass(frozen=True)
class Word2VecSettings:
    """Everything `train_word2vec` needs besides the corpus and the output path.

    Defaults follow word2vec.c (window 5, 5 negatives, subsampling 1e-3, noise counts ** 0.75)
    except the optimiser: Adam with a linear decay to zero, measured on the plays.
    """

    embedding_dim: int = 100  # D: length of each word vector
    window_size: int = 5  # W: the largest target-context distance
    num_negatives: int = 5  # K: noise words per (target, context) pair
    subsample: float = 1e-3  # word2vec's subsampling threshold t (None keeps every token)
    negative_distortion: float = 0.75  # noise distribution: counts ** this
    min_frequency: int = 5  # words seen fewer times in the training split map to <unk>
    max_vocabulary_size: int = 20000  # including special tokens
    batch_size: int = 1024  # pairs per step
    steps: int = 15000  # optimiser steps (about 4 passes over the plays' training split)
    learning_rate: float = 0.01  # Adam's initial rate, decayed linearly to 0 over `steps`
    seed: int = 1337


@dataclasses.dataclass
class Word2VecResult:
    vectors: WordVectors
    output_dir: Path
    metadata: dict


def train_word2vec(
    corpus="shakespeare",
    *,
    output_dir=None,
    settings=None,
    encoding_errors="strict",
    verbose="auto",
    print_fn=print,
):
    """Trains skip-gram word2vec on a corpus's training split and saves a vectors directory.

    Args:
        corpus: "shakespeare" (the bundled plays), a path (text file or folder), or a loaded
            `tfllm.data.Corpus`.
        output_dir: the vectors directory (default `saved_models/word2vec`), written atomically.
        settings: a `Word2VecSettings` (default: its defaults).
        encoding_errors: "strict" or "replace" for user files.
        verbose: Keras progress display ("auto", 0, 1, 2).
        print_fn: where the report goes.
    Returns:
        A `Word2VecResult` (the vectors, the directory, the metadata written).
    """
    settings = settings or Word2VecSettings()
    if not isinstance(settings, Word2VecSettings):
        raise TypeError(f"settings must be a Word2VecSettings. Received: {type(settings).__name__}")
    output_dir = Path(output_dir or Path("saved_models") / "word2vec")
    keras.utils.set_random_seed(settings.seed)
    if not hasattr(corpus, "train"):
        corpus = load_corpus(corpus, encoding_errors=encoding_errors)
    texts = [document.text for document in corpus.train]
    tokenizer = WordTokenizer.from_texts(
        texts,
        max_vocabulary_size=settings.max_vocabulary_size,
        min_frequency=settings.min_frequency,
        lowercase=True,
    )
    vocabulary = tokenizer.vocabulary
    ids = tokenizer.tokenize(texts).flat_values.numpy()  # the documents one after another
    # Special tokens and pure punctuation carry no meaning of their own: they are removed from
    # the stream, as word2vec.c removes the words below its frequency cut-off.
    ignore_ids = sorted(
        set(tokenizer.special_ids.values())
        | {i for i, word in enumerate(vocabulary) if not any(c.isalnum() for c in word)}
    )
    counts = np.bincount(ids, minlength=len(vocabulary))
    counts[ignore_ids] = 0
    dataset = skipgram_dataset(
        ids,
        len(vocabulary),
        window_size=settings.window_size,
        num_negatives=settings.num_negatives,
        batch_size=settings.batch_size,
        subsample=settings.subsample,
        negative_distortion=settings.negative_distortion,
        ignore_ids=ignore_ids,
        seed=settings.seed,
    )
    model = Word2Vec(len(vocabulary), settings.embedding_dim)
    schedule = keras.optimizers.schedules.PolynomialDecay(
        settings.learning_rate, settings.steps, end_learning_rate=0.0
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        # XLA halved the step time on 2 CPU cores (5.6 s vs 11 s for 1000 steps of 1024 pairs,
        # 8k words, D=100): the step is a few gathers, one einsum and a dense Adam update.
        jit_compile=True,
    )
    print_fn(
        f"word2vec on {corpus.name} (train split, {len(corpus.train)} documents): "
        f"{len(ids):,} tokens, {int(counts.sum()):,} of them words in a vocabulary of "
        f"{int((counts > 0).sum()):,}; {settings.steps} steps of {settings.batch_size} pairs."
    )
    start = time.perf_counter()
    history = model.fit(
        dataset, epochs=1, steps_per_epoch=settings.steps, shuffle=False, verbose=verbose
    )  # the pipeline shuffles
    train_seconds = time.perf_counter() - start

    order = [i for i in np.argsort(-counts, kind="stable") if counts[i] > 0]  # by frequency
    table = model.word_vectors()
    vectors = WordVectors([vocabulary[i] for i in order], table[order])
    pairs = related_pair_similarity(vectors)
    metadata = {
        "method": "word2vec",
        "corpus": corpus.name,
        "split": "train",
        "tokens": int(len(ids)),
        "word_tokens": int(counts.sum()),
        "words": len(vectors),
        "tokenizer_vocabulary_size": len(vocabulary),
        "tokenizer_fingerprint": tokenizer.fingerprint,
        "settings": dataclasses.asdict(settings),
        "train_seconds": round(train_seconds, 1),
        "final_loss": float(history.history["loss"][-1]),
        "related_pairs": pairs,
        "tfllm_version": tfllm.__version__,
    }
    save_vectors_dir(output_dir, vectors, counts=[int(counts[i]) for i in order],
                     tokenizer=tokenizer, metadata=metadata)
    print_fn(
        f"Trained in {train_seconds:.0f} s, final loss {metadata['final_loss']:.4f}. Related pairs "
        f"(king/queen, night/day, ...): mean cosine {pairs['related_mean']:.3f} vs "
        f"{pairs['random_mean']:.3f} for random pairs of frequent words."
    )
    print_fn(f"Vectors saved to {output_dir} ({len(vectors):,} words, dimension {vectors.dimension}).")
    return Word2VecResult(vectors=vectors, output_dir=output_dir, metadata=metadata)


def save_vectors_dir(path, vectors, *, counts=None, tokenizer=None, metadata=None):
    """Writes a vectors directory (see the module docstring) atomically.

    Args:
        path: the destination directory; an existing one is replaced once the new one is
            complete.
        vectors: a `WordVectors`.
        counts: optional occurrences of each word (same order), for vocabulary.tsv and the
            projector's labels.
        tokenizer: optional tokenizer saved in `tokenizer/`.
        metadata: optional dict for metadata.json.
    Returns:
        The `Path` written.
    """
    path = Path(path)
    with staged_directory(path) as staging:
        write_word_vectors(staging / VECTORS_FILE, vectors, format="word2vec")
        if counts is None:
            vocabulary_lines = ["word"] + list(vectors.words)
        else:
            vocabulary_lines = ["word\tcount"] + [f"{w}\t{c}" for w, c in zip(vectors.words, counts)]
        (staging / VOCABULARY_FILE).write_text("\n".join(vocabulary_lines) + "\n", encoding="utf-8")
        if tokenizer is not None:
            tokenizer.save(staging / TOKENIZER_DIR)
        (staging / METADATA_FILE).write_text(json.dumps(metadata or {}, indent=2, sort_keys=True) + "\n")
        export_projector(vectors, staging / PROJECTOR_DIR, counts=counts)
    return path


def load_vectors(path, *, format="auto"):
    """Reads word vectors from a vectors directory (its vectors.txt) or a GloVe/word2vec file."""
    path = Path(path)
    if path.is_dir():
        if not (path / VECTORS_FILE).is_file():
            raise WordVectorsError(
                f"{path} has no {VECTORS_FILE}: give a directory written by `tfllm embeddings "
                f"train` or a GloVe/word2vec text file. Received: --vectors {str(path)!r}"
            )
        path = path / VECTORS_FILE
    elif not path.exists():
        raise WordVectorsError(
            f"No vectors at {path}: give a directory written by `tfllm embeddings train` or a "
            f"GloVe/word2vec text file. Received: --vectors {str(path)!r}"
        )
    return read_word_vectors(path, format=format)


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


def export_projector(vectors, directory, *, counts=None, max_words=None):
    """Writes what TensorBoard's projector reads offline: `tensorboard --logdir DIRECTORY`.

    `tensors.tsv` (one vector per line, tab-separated), `metadata.tsv` (the word, and its count
    when `counts` is given, with a header line) and `projector_config.pbtxt` naming them with
    paths relative to the directory, which is written to a temporary sibling and renamed.

    Args:
        vectors: a `WordVectors`.
        directory: the projector log directory.
        counts: optional occurrences of each word (same order).
        max_words: keep only the first `max_words` rows (the projector is slow past ~50k).
    Returns:
        The `Path` written.
    """
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    directory = Path(directory)
    size = len(vectors) if max_words is None else min(int(max_words), len(vectors))
    with staged_directory(directory) as staging:
        np.savetxt(staging / "tensors.tsv", vectors.vectors[:size], delimiter="\t", fmt="%.6g")
        words = vectors.words[:size]
        if counts is not None:
            lines = ["word\tcount"] + [f"{w}\t{c}" for w, c in zip(words, counts)]
        else:
            lines = list(words)  # a single column has no header line
        (staging / "metadata.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        config = projector.ProjectorConfig()
        embedding = config.embeddings.add()
        embedding.tensor_name = "word_vectors"
        embedding.tensor_path = "tensors.tsv"
        embedding.metadata_path = "metadata.tsv"
        (staging / PROJECTOR_CONFIG).write_text(text_format.MessageToString(config))
    return directory


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
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise WordVectorsError(f"k must be a positive int. Received: k={k!r}")
    scores = _unit(vectors) @ (query / max(np.linalg.norm(query), 1e-12))  # (V,)
    scores[list(exclude)] = -np.inf
    k = min(k, len(vectors) - len(exclude))
    if k < 1:
        return []
    top = np.argpartition(-scores, k - 1)[:k]
    top = sorted(top, key=lambda i: -scores[i])
    return [(vectors.words[i], float(scores[i])) for i in top]
