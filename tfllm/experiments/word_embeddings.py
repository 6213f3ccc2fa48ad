"""Word embeddings as one run: train word2vec on a corpus, evaluate the vectors, save them.

`train_word2vec` learns a lowercase word vocabulary from a corpus's training split (the bundled
plays by default), trains `tfllm.models.Word2Vec` on `tfllm.data.skipgram_dataset`, scores the
vectors with `tfllm.data.related_pair_similarity`, and saves a vectors directory with
`tfllm.export.save_vectors_dir`. Only words that occurred in the training stream get a row:
special tokens and pure punctuation are left out of training and of the file.

The pieces live where they belong: queries (`nearest_neighbours`, `analogy`, ...) in
`tfllm.data.word_vector_queries`, the vectors directory and the projector export in
`tfllm.export`; `tfllm.experiments` re-exports them.

Example:

>>> from tfllm.experiments import load_vectors, nearest_neighbours, train_word2vec
>>> result = train_word2vec(output_dir="saved_models/w2v")  # doctest: +SKIP
>>> nearest_neighbours(load_vectors("saved_models/w2v"), "king", k=3)  # doctest: +SKIP
[('queen', 0.71...), ...]
"""

import dataclasses
import time
from pathlib import Path

import keras
import numpy as np

import tfllm
from tfllm.data import WordVectors, load_corpus, related_pair_similarity, skipgram_dataset
from tfllm.export.output_guard import check_output_dir
from tfllm.export.vectors_directory import save_vectors_dir
from tfllm.models import Word2Vec
from tfllm.tokenizers import WordTokenizer


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


@dataclasses.dataclass
class _WordStream:
    """The training split as word ids, with what word2vec must skip."""

    tokenizer: WordTokenizer
    ids: np.ndarray  # (N,) the documents one after another
    ignore_ids: list  # special tokens and pure punctuation
    counts: np.ndarray  # (V,) occurrences, 0 for ignored ids


def train_word2vec(
    corpus="shakespeare",
    *,
    output_dir=None,
    settings=None,
    encoding_errors="strict",
    overwrite=False,
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
        overwrite: replace what is at `output_dir` even if tfllm did not write it as a vectors
            directory (never a folder holding files tfllm did not write: see
            docs/files-and-runs.md). A vectors directory tfllm wrote is replaced without it.
        verbose: Keras progress display ("auto", 0, 1, 2).
        print_fn: where the report goes.
    Returns:
        A `Word2VecResult` (the vectors, the directory, the metadata written).
    """
    settings = settings or Word2VecSettings()
    if not isinstance(settings, Word2VecSettings):
        raise TypeError(f"settings must be a Word2VecSettings. Received: {type(settings).__name__}")
    output_dir = Path(output_dir or Path("saved_models") / "word2vec")
    # Refused before any training, rather than after it (`save_vectors_dir` checks again).
    note = check_output_dir(output_dir, overwrite=overwrite, kind="vectors")
    if note:
        print_fn(f"Note: {note}.")
    keras.utils.set_random_seed(settings.seed)
    if not hasattr(corpus, "train"):
        corpus = load_corpus(corpus, encoding_errors=encoding_errors)
    stream = _word_stream(corpus, settings)
    print_fn(
        f"word2vec on {corpus.name} (train split, {len(corpus.train)} documents): "
        f"{len(stream.ids):,} tokens, {int(stream.counts.sum()):,} of them words in a vocabulary "
        f"of {int((stream.counts > 0).sum()):,}; {settings.steps} steps of {settings.batch_size} "
        f"pairs."
    )
    start = time.perf_counter()
    model, final_loss = _fit(stream, settings, verbose)
    train_seconds = time.perf_counter() - start

    vocabulary = stream.tokenizer.vocabulary
    order = [i for i in np.argsort(-stream.counts, kind="stable") if stream.counts[i] > 0]
    vectors = WordVectors([vocabulary[i] for i in order], model.word_vectors()[order])
    pairs = related_pair_similarity(vectors)
    metadata = {
        "method": "word2vec",
        "corpus": corpus.name,
        "split": "train",
        "tokens": int(len(stream.ids)),
        "word_tokens": int(stream.counts.sum()),
        "words": len(vectors),
        "tokenizer_vocabulary_size": len(vocabulary),
        "tokenizer_fingerprint": stream.tokenizer.fingerprint,
        "settings": dataclasses.asdict(settings),
        "train_seconds": round(train_seconds, 1),
        "final_loss": final_loss,
        "related_pairs": pairs,
        "tfllm_version": tfllm.__version__,
    }
    save_vectors_dir(output_dir, vectors, counts=[int(stream.counts[i]) for i in order],
                     tokenizer=stream.tokenizer, metadata=metadata, overwrite=overwrite)
    print_fn(
        f"Trained in {train_seconds:.0f} s, final loss {final_loss:.4f}. Related pairs "
        f"(king/queen, night/day, ...): mean cosine {pairs['related_mean']:.3f} vs "
        f"{pairs['random_mean']:.3f} for random pairs of frequent words."
    )
    print_fn(f"Vectors saved to {output_dir} ({len(vectors):,} words, dimension {vectors.dimension}).")
    return Word2VecResult(vectors=vectors, output_dir=output_dir, metadata=metadata)


def _word_stream(corpus, settings):
    texts = [document.text for document in corpus.train]
    tokenizer = WordTokenizer.from_texts(
        texts,
        max_vocabulary_size=settings.max_vocabulary_size,
        min_frequency=settings.min_frequency,
        lowercase=True,
    )
    vocabulary = tokenizer.vocabulary
    ids = tokenizer.tokenize(texts).flat_values.numpy()
    # Special tokens and pure punctuation carry no meaning of their own: they are removed from
    # the stream, as word2vec.c removes the words below its frequency cut-off.
    ignore_ids = sorted(
        set(tokenizer.special_ids.values())
        | {i for i, word in enumerate(vocabulary) if not any(c.isalnum() for c in word)}
    )
    counts = np.bincount(ids, minlength=len(vocabulary))
    counts[ignore_ids] = 0
    return _WordStream(tokenizer=tokenizer, ids=ids, ignore_ids=ignore_ids, counts=counts)


def _fit(stream, settings, verbose):
    """Trains `Word2Vec` on the stream's pairs; returns the model and its final loss."""
    vocabulary_size = len(stream.tokenizer.vocabulary)
    dataset = skipgram_dataset(
        stream.ids,
        vocabulary_size,
        window_size=settings.window_size,
        num_negatives=settings.num_negatives,
        batch_size=settings.batch_size,
        subsample=settings.subsample,
        negative_distortion=settings.negative_distortion,
        ignore_ids=stream.ignore_ids,
        seed=settings.seed,
    )
    model = Word2Vec(vocabulary_size, settings.embedding_dim)
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
    history = model.fit(
        dataset, epochs=1, steps_per_epoch=settings.steps, shuffle=False, verbose=verbose
    )  # the pipeline shuffles
    return model, float(history.history["loss"][-1])
