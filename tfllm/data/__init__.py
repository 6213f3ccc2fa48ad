"""Corpora, splits and tf.data pipelines, given a tokenizer.

- `load_corpus("shakespeare" | path)` -> `Corpus` of `Document`s split into train/validation/test
  (`corpus.py`; the bundled plays in `shakespeare.py`, user files in `text_files.py`).
- `tokenize_corpus_text(tokenizer, text)` -> int32 ids; `lm_dataset(ids, T, B, windows=...)` ->
  batches of `({"token_ids", "padding_mask"}, labels, sample_weight)` (`lm_dataset.py`).
- `tokenized_dataset(texts, tokenizer, cache=...)` -> per-text ids, cached in memory or a file;
  `packed_dataset(documents, T, B, end_id=...)` -> packed rows with `segment_ids` and
  `segment_attention_mask` (`packing.py`); `bucketed_dataset(sequences, (16, 32, 64), B)`
  (`bucketing.py`); `pipeline_throughput(dataset)` -> tokens/s of a pipeline alone.
- `TextCleaner` / `clean_text`: optional NFKC, lower-casing, whitespace, stop words
  (`text_cleaning.py`).
- `restoration_pairs(documents)` -> (stripped line, line as written) pairs of the spoken lines
  (`restoration_pairs.py`); `pair_dataset(pairs, tokenizer, ...)` -> teacher-forced seq2seq
  batches, optionally bucketed by length (`pair_dataset.py`).
- `skipgram_dataset` (word2vec pairs); `WordVectors` and the GloVe / word2vec text formats
  (`word_vectors.py`); `nearest_neighbours`, `analogy`, `related_pair_similarity` on them
  (`word_vector_queries.py`).
- TFDS builders `shakespeare_plays` and `text_folder` (`tfds_builders/`, not imported here so
  `tfllm.data` does not import TFDS; `import tfllm` registers them with TFDS).

Example:

>>> from tfllm.data import lm_dataset, load_corpus, tokenize_corpus_text
>>> from tfllm.tokenizers import CharTokenizer
>>> corpus = load_corpus("shakespeare")
>>> tokenizer = CharTokenizer.from_texts([doc.text for doc in corpus.train])
>>> ids = tokenize_corpus_text(tokenizer, corpus.split_text("validation"))
>>> batch = next(iter(lm_dataset(ids, 64, 8, windows="eval")))
"""

from tfllm.data.bucketing import bucketed_dataset
from tfllm.data.corpus import DOCUMENT_SEPARATOR, SPLITS, Corpus, load_corpus, load_documents, split_document
from tfllm.data.document import Document
from tfllm.data.lm_dataset import WINDOWS, lm_dataset, tokenize_corpus_text
from tfllm.data.packing import packed_dataset, segment_attention_mask
from tfllm.data.pair_dataset import (
    PairLengths,
    bucket_boundaries_for,
    count_long_pairs,
    pair_dataset,
    pair_lengths,
)
from tfllm.data.pipeline_throughput import PipelineThroughput, pipeline_throughput
from tfllm.data.restoration_pairs import (
    RESTORATION_MARKS,
    RestorationPair,
    dialogue_lines,
    restoration_pairs,
    strip_line,
)
from tfllm.data.shakespeare import (
    TEST_PLAYS,
    VALIDATION_PLAYS,
    Play,
    load_plays,
    markdown_to_text,
    split_plays,
)
from tfllm.data.skipgram_dataset import skipgram_dataset
from tfllm.data.text_cleaning import TextCleaner, clean_text, load_stop_words
from tfllm.data.text_files import ENCODING_ERRORS, read_text_files
from tfllm.data.tokenized_dataset import tokenized_dataset
from tfllm.data.word_vector_queries import (
    RELATED_PAIRS,
    analogy,
    cosine_similarity,
    nearest_neighbours,
    related_pair_similarity,
)
from tfllm.data.word_vectors import (
    WordVectors,
    WordVectorsError,
    read_word_vectors,
    write_word_vectors,
)
from tfllm.data.genre_split import (
    GENRE_SPLITS,
    GENRE_TASKS,
    GENRE_TEST_PLAYS,
    GENRE_VALIDATION_PLAYS,
    Passage,
    balanced_class_weights,
    class_counts,
    genre_corpus,
    genre_passages,
    genre_split,
    split_genre_plays,
)
from tfllm.data.passage_dataset import passage_dataset, passage_ids
from tfllm.data.masked_lm_dataset import default_max_predictions, masked_lm_dataset, unigram_floor

__all__ = [
    "Corpus",
    "Document",
    "ENCODING_ERRORS",
    "Play",
    "SPLITS",
    "TEST_PLAYS",
    "VALIDATION_PLAYS",
    "WINDOWS",
    "load_corpus",
    "load_documents",
    "DOCUMENT_SEPARATOR",
    "load_plays",
    "lm_dataset",
    "markdown_to_text",
    "read_text_files",
    "split_document",
    "split_plays",
    "tokenize_corpus_text",
    "skipgram_dataset",
    "WordVectors",
    "WordVectorsError",
    "read_word_vectors",
    "write_word_vectors",
    "RELATED_PAIRS",
    "analogy",
    "cosine_similarity",
    "nearest_neighbours",
    "related_pair_similarity",
    "PipelineThroughput",
    "TextCleaner",
    "bucketed_dataset",
    "clean_text",
    "load_stop_words",
    "packed_dataset",
    "pipeline_throughput",
    "segment_attention_mask",
    "tokenized_dataset",
    "PairLengths",
    "bucket_boundaries_for",
    "count_long_pairs",
    "pair_dataset",
    "pair_lengths",
    "RESTORATION_MARKS",
    "RestorationPair",
    "dialogue_lines",
    "restoration_pairs",
    "strip_line",
    "GENRE_SPLITS",
    "GENRE_TASKS",
    "GENRE_TEST_PLAYS",
    "GENRE_VALIDATION_PLAYS",
    "Passage",
    "balanced_class_weights",
    "class_counts",
    "genre_corpus",
    "genre_passages",
    "genre_split",
    "split_genre_plays",
    "default_max_predictions",
    "masked_lm_dataset",
    "unigram_floor",
    "passage_dataset",
    "passage_ids",
]
