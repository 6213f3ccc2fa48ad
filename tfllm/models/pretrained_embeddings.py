"""`load_pretrained_embeddings`: fill a model's embedding table from a word vectors file.

Pretrained vectors (GloVe, word2vec, or `tfllm embeddings train`) are keyed by word; a model's
embedding table is keyed by id. Given the tokenizer's vocabulary (index = id), each row whose
word has a vector gets that vector; the other rows keep their initial values, and the report
says how many were found, which were missing, and which special tokens (padding, unknown, ...)
were left alone. The layer is then frozen (`trainable=False`, the default: the vectors stay as
they are) or left trainable (they are fine-tuned with the rest of the model).

Freezing sets the layer's `trainable` to False, so for a `TokenEmbedding` with an untied output
projection the projection is frozen with it. Freeze before `compile` (Keras fixes the trainable
weights when it compiles). A `.keras` archive keeps the loaded values but not the freeze: tfllm
models rebuild their sub-layers from the model's config, so after `load_model` set
`model.token_embedding.trainable = False` again before training further.

Example:

>>> import numpy as np
>>> import keras
>>> from tfllm.data import WordVectors
>>> from tfllm.models import load_pretrained_embeddings
>>> layer = keras.layers.Embedding(4, 2)
>>> layer.build()
>>> vectors = WordVectors(["king", "queen"], np.array([[1.0, 2.0], [3.0, 4.0]]))
>>> report = load_pretrained_embeddings(layer, vectors, ["<pad>", "king", "Queen", "crown"])
>>> report.found, report.missing_words, layer.trainable
(2, ['<pad>', 'crown'], False)
>>> np.asarray(layer.embeddings)[2].tolist()  # "Queen" matched "queen" (lowercase fallback)
[3.0, 4.0]
"""

import dataclasses
from pathlib import Path

import keras
import numpy as np

from tfllm.data.word_vectors import WordVectors, WordVectorsError, read_word_vectors
from tfllm.errors import TokenizerError
from tfllm.layers import TokenEmbedding

_EMBEDDING_LAYERS = (keras.layers.Embedding, TokenEmbedding)


@dataclasses.dataclass(frozen=True)
class PretrainedEmbeddingReport:
    """What `load_pretrained_embeddings` did.

    Attributes:
        vocabulary_size: V, rows in the table.
        found: rows set from a vector (an exact match, or the lowercased word).
        lowercase_matches: how many of `found` matched only after lowercasing.
        missing_words: words with no vector; their rows keep their initial values.
        skipped_words: special tokens (from a tokenizer) left alone.
        trainable: whether the layer stays trainable (False = frozen).
        layer_name: the layer that was filled.
    """

    vocabulary_size: int
    found: int
    lowercase_matches: int
    missing_words: list
    skipped_words: list
    trainable: bool
    layer_name: str

    @property
    def missing(self):
        return len(self.missing_words)

    @property
    def coverage(self):
        """found / (found + missing): the share of ordinary words that got a vector."""
        total = self.found + self.missing
        return self.found / total if total else 0.0

    def summary(self):
        """One line for a log or a CLI."""
        examples = ", ".join(repr(word) for word in self.missing_words[:5])  # "\n" is a token too
        missing = f"{self.missing} missing" + (f" (e.g. {examples})" if self.missing else "")
        return (
            f"{self.layer_name}: {self.found} of {self.found + self.missing} vocabulary words "
            f"found ({self.coverage:.1%}; {self.lowercase_matches} after lowercasing), {missing}, "
            f"{len(self.skipped_words)} special tokens left as they were; "
            f"{'trainable' if self.trainable else 'frozen'}."
        )


def load_pretrained_embeddings(target, vectors, vocabulary, *, trainable=False, lowercase_fallback=True):
    """Copies word vectors into the rows of an embedding table, by word.

    Args:
        target: a built `keras.layers.Embedding` or `tfllm.layers.TokenEmbedding`, or a built
            model with one of them as `token_embedding` (or as its only embedding layer).
        vectors: a `tfllm.data.WordVectors`, or the path of a word2vec/GloVe text file.
        vocabulary: a tfllm tokenizer (its `vocabulary`; its special tokens are skipped), or a
            list of V words (index = id).
        trainable: False (default) freezes the layer; True lets training fine-tune it.
        lowercase_fallback: a word without a vector of its own takes its lowercased form's
            (GloVe's vocabularies are lowercase).
    Returns:
        A `PretrainedEmbeddingReport`.
    """
    layer = _embedding_layer(target)
    if not isinstance(vectors, WordVectors):
        if not isinstance(vectors, (str, Path)):
            raise TypeError(
                f"vectors must be a WordVectors or the path of a vectors file. "
                f"Received: vectors of type {type(vectors).__name__}"
            )
        vectors = read_word_vectors(vectors)
    words, skip_ids = _vocabulary_words(vocabulary)
    table = np.array(keras.ops.convert_to_numpy(layer.embeddings), dtype=np.float32)  # (V, D)
    if len(words) != table.shape[0]:
        raise TokenizerError(
            f"The vocabulary has {len(words)} words but the layer {layer.name!r} has "
            f"{table.shape[0]} rows: pass the tokenizer the model was built for. "
            f"Received: len(vocabulary)={len(words)}"
        )
    if vectors.dimension != table.shape[1]:
        raise WordVectorsError(
            f"The vectors have dimension {vectors.dimension} but the layer {layer.name!r} has "
            f"width {table.shape[1]}: build the model with that width, or use vectors of width "
            f"{table.shape[1]}. Received: vectors of dimension {vectors.dimension}"
        )
    found = lowercase = 0
    missing, skipped = [], []
    for token_id, word in enumerate(words):
        if token_id in skip_ids:
            skipped.append(word)
            continue
        row = vectors.index.get(word)
        if row is None and lowercase_fallback:
            row = vectors.index.get(word.lower())
            lowercase += row is not None
        if row is None:
            missing.append(word)
            continue
        table[token_id] = vectors.vectors[row]
        found += 1
    layer.embeddings.assign(table)
    layer.trainable = bool(trainable)
    return PretrainedEmbeddingReport(
        vocabulary_size=len(words),
        found=found,
        lowercase_matches=int(lowercase),
        missing_words=missing,
        skipped_words=skipped,
        trainable=bool(trainable),
        layer_name=layer.name,
    )


def _embedding_layer(target):
    if isinstance(target, _EMBEDDING_LAYERS):
        layer = target
    elif isinstance(target, keras.Model):
        layer = getattr(target, "token_embedding", None)
        if not isinstance(layer, _EMBEDDING_LAYERS):
            candidates = [sub for sub in target.layers if isinstance(sub, _EMBEDDING_LAYERS)]
            if len(candidates) != 1:
                names = [sub.name for sub in candidates]
                raise ValueError(
                    f"Could not tell which embedding layer of {target.name!r} to fill: it has "
                    f"{len(candidates)} ({names}). Pass the layer itself. Received: target={target.name!r}"
                )
            layer = candidates[0]
    else:
        raise TypeError(
            "target must be a keras.layers.Embedding, a tfllm TokenEmbedding or a model holding "
            f"one. Received: target of type {type(target).__name__}"
        )
    if not layer.built:
        raise ValueError(
            f"The embedding layer {layer.name!r} has no weights yet: build it (or call the model "
            f"on a batch) before loading vectors into it. Received: an unbuilt {type(layer).__name__}"
        )
    return layer


def _vocabulary_words(vocabulary):
    """(list of words, set of ids to skip) from a tokenizer or a list of words."""
    if hasattr(vocabulary, "vocabulary") and hasattr(vocabulary, "special_ids"):
        return list(vocabulary.vocabulary), set(vocabulary.special_ids.values())
    if isinstance(vocabulary, str) or not all(isinstance(word, str) for word in vocabulary):
        raise TypeError(
            "vocabulary must be a tfllm tokenizer or a list of words (index = id). "
            f"Received: vocabulary of type {type(vocabulary).__name__}"
        )
    return list(vocabulary), set()
