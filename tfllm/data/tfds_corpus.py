"""Documents from a TFDS dataset already prepared on this machine: `read_tfds_documents(name)`.

`load_corpus("tfds:NAME")` reads one split of any TFDS dataset (`tfds_split`, default "train";
TFDS slices such as "train[:10%]" or "train+test" work too) from the local data directory, and
takes each example's `text_feature` (default "text") as one document. Nothing is downloaded: a
dataset must have been prepared once, online, e.g. with

    python -c "import tfllm, tensorflow_datasets as tfds; tfds.builder('NAME').download_and_prepare()"

(`import tfllm` makes tfllm's own `shakespeare_plays` and `text_folder` known to TFDS). The data
directory is `data_dir` if given, else `$TFDS_DATA_DIR` (read at each call), else
`~/tensorflow_datasets`. A dataset that is not prepared there, a name TFDS does not know, a split
or feature the dataset lacks, or a feature that is not a scalar string is a one-line
`CorpusError` that says what to do. Examples are read in TFDS's stored order (`shuffle_files=False`,
deterministic), decoding only the text feature, and reading stops with a `CorpusError` once
the texts pass `tfllm.limits.MAX_CORPUS_MB`; bytes that are not UTF-8 follow the
`encoding_errors` policy of `tfllm.data.text_files`, and empty or whitespace-only texts are
dropped. `tfllm.data.corpus` then splits each document like a user's text file.

Example:

>>> import tempfile
>>> import tensorflow_datasets as tfds
>>> import tfllm
>>> from tfllm.data.tfds_corpus import read_tfds_documents
>>> data_dir = tempfile.mkdtemp()
>>> tfds.builder("shakespeare_plays", data_dir=data_dir).download_and_prepare()
... # doctest: +ELLIPSIS
Downloading and preparing dataset ...
>>> documents = read_tfds_documents("shakespeare_plays", "validation", data_dir=data_dir)
>>> sorted(document.text.split("\\n", 1)[0] for document in documents)
['Julius Caesar', 'Macbeth', 'The Tempest']
"""

import os

from tfllm.data.document import Document
from tfllm.data.text_files import check_encoding_errors, decode_text
from tfllm.errors import CorpusError
from tfllm.limits import current_limit, megabytes, raise_hint
from tfllm.paths import TFDS_PREFIX

# Examples decoded per tf.data batch while reading.
_READ_BATCH = 256


def tfds_data_dir(data_dir=None):
    """The TFDS data directory: `data_dir`, else `$TFDS_DATA_DIR`, else ~/tensorflow_datasets."""
    chosen = data_dir or os.environ.get("TFDS_DATA_DIR") or os.path.join("~", "tensorflow_datasets")
    return os.path.expanduser(str(chosen))


def read_tfds_documents(name, split="train", text_feature="text", data_dir=None,
                        encoding_errors="strict"):
    """Reads `split` of the prepared TFDS dataset `name` as `Document`s, never downloading.

    Args:
        name: a TFDS name, optionally with config and version ("wiki40b/en", "NAME:1.0.0").
        split: a TFDS split or slice of the dataset ("train", "train[:1000]", "train+test").
        text_feature: the feature holding each example's text (a `tfds.features.Text` or a
            scalar string `Tensor`).
        data_dir: the TFDS data directory; None reads `$TFDS_DATA_DIR` or ~/tensorflow_datasets.
        encoding_errors: "strict", "replace" or "skip" for bytes that are not UTF-8.

    Returns:
        A list of `Document(name=f"{split}[{index}]", text)`, one per example with text (index: the
        example's position in the split, counting empty ones).
    """
    import tensorflow_datasets as tfds

    check_encoding_errors(encoding_errors)
    spec = f"{TFDS_PREFIX}{name}"
    data_dir = tfds_data_dir(data_dir)
    builder = _prepared_builder(tfds, name, data_dir, spec)
    _check_text_feature(builder, name, text_feature)
    try:
        dataset = builder.as_dataset(
            split=split, shuffle_files=False,
            decoders=tfds.decode.PartialDecoding({text_feature: True}),
        )
    except (ValueError, KeyError, AssertionError) as error:
        splits = ", ".join(repr(s) for s in sorted(builder.info.splits)) or "none"
        raise CorpusError(
            f"The TFDS dataset {name!r} in {data_dir!r} cannot read the split {split!r} "
            f"({_first_line(error)}); its splits are {splits}, and TFDS slices such as "
            f"'train[:10%]' work too. Set data.tfds_split. Received: data.tfds_split={split!r}"
        ) from None
    texts = dataset.map(lambda example: example[text_feature]).batch(_READ_BATCH)
    documents, num_examples, num_bytes = [], 0, 0
    limit = current_limit("MAX_CORPUS_MB", CorpusError)
    for batch in tfds.as_numpy(texts):
        for data in batch:
            num_bytes += len(data)
            if megabytes(num_bytes) > limit:
                raise CorpusError(
                    f"The TFDS split {split!r} of {name!r} holds more than the limit of {limit:,} "
                    f"MB of text that tfllm reads (reading and tokenizing take about 26 bytes of "
                    f"memory per byte of text; {num_examples:,} examples read so far); read a "
                    f"slice such as '{split}[:10%]' (data.tfds_split), or "
                    f"{raise_hint('MAX_CORPUS_MB')}. Received: corpus={spec!r}"
                )
            text = decode_text(data, f"{spec} {split} example {num_examples}", encoding_errors)
            if text.strip():
                documents.append(Document(name=f"{split}[{num_examples}]", text=text))
            num_examples += 1
    if not documents:
        raise CorpusError(
            f"The TFDS split {split!r} of {name!r} has no text: {num_examples:,} example(s) read, "
            f"every {text_feature!r} empty or only whitespace. Choose another split or feature. "
            f"Received: corpus={spec!r}, data.tfds_split={split!r}, "
            f"data.text_feature={text_feature!r}"
        )
    return documents


def _prepared_builder(tfds, name, data_dir, spec):
    """The builder of `name` in `data_dir`, or a `CorpusError` saying how to prepare it."""
    prepare = (
        f"Prepare it once, online: python -c \"import tfllm, tensorflow_datasets as tfds; "
        f"tfds.builder('{name}', data_dir='{data_dir}').download_and_prepare()\", or set "
        f"TFDS_DATA_DIR to the folder where it is prepared"
    )
    if not name:
        raise CorpusError(
            f"A TFDS corpus needs a dataset name after {TFDS_PREFIX!r}, e.g. "
            f"'tfds:shakespeare_plays'. Received: corpus={spec!r}"
        )
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # noqa: BLE001  (TFDS raises several types, all multi-line)
        raise CorpusError(
            f"TFDS knows no dataset {name!r}: no registered builder has that name and no prepared "
            f"copy is in {data_dir!r} ({type(error).__name__}: {_first_line(error)}). Check the "
            f"name against tfds.list_builders(). {prepare}. Received: corpus={spec!r}"
        ) from None
    # Checking the info file first keeps TFDS from logging a warning about the missing folder,
    # which would break the CLI's one-line error.
    if not ((builder.data_path / "dataset_info.json").exists() and builder.is_prepared()):
        raise CorpusError(
            f"The TFDS dataset {name!r} is not prepared in {data_dir!r}, and tfllm never "
            f"downloads. {prepare}. Received: corpus={spec!r}"
        )
    return builder


def _check_text_feature(builder, name, text_feature):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    features = builder.info.features

    def is_text(feature):
        return (isinstance(feature, tfds.features.Tensor) and feature.tf_dtype == tf.string
                and tuple(feature.shape) == ())

    text_features = [key for key in features.keys() if is_text(features[key])]
    listed = ", ".join(repr(key) for key in text_features) or "none"
    if text_feature not in features.keys():
        raise CorpusError(
            f"The TFDS dataset {name!r} has no feature {text_feature!r}; its features are "
            f"{', '.join(repr(key) for key in features.keys())}, and its text features {listed}. "
            f"Set data.text_feature. Received: data.text_feature={text_feature!r}"
        )
    feature = features[text_feature]
    if not is_text(feature):
        raise CorpusError(
            f"The feature {text_feature!r} of the TFDS dataset {name!r} is not text: it is "
            f"{_describe(feature)}, not a scalar string. Its text features are {listed}. "
            f"Set data.text_feature. Received: data.text_feature={text_feature!r}"
        )


def _describe(feature):
    dtype, shape = getattr(feature, "tf_dtype", None), getattr(feature, "shape", None)
    if hasattr(dtype, "name") and isinstance(shape, (tuple, list)):
        return f"a {type(feature).__name__} of dtype {dtype.name} and shape {tuple(shape)}"
    return f"a {type(feature).__name__}"


def _first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__
