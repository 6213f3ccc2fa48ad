"""`Tokenizer`: the interface every tfllm tokenizer implements (strings <-> int32 ids).

A tokenizer is a `tf.Module`. Its lookup tables are TensorFlow constants built once at
construction, so the same object tokenizes eagerly, inside `tf.data.Dataset.map`, and inside a
`tf.function` that is exported in a SavedModel. Subclasses implement two batched methods on
rank-1 inputs (`_tokenize_batch`, `_detokenize_batch`); this class handles Python inputs, ranks,
dtypes, the Python conveniences (`encode`, `decode`, `unknown_characters`) and the
`tokenizer.json` file.

The file format (`FORMAT_VERSION` 1) is one JSON object:

    {"format_version": 1, "kind": "char", "vocabulary": ["<pad>", ...],
     "special_ids": {"pad": 0, "unk": 1, "bos": 2, "eos": 3, "mask": 4},
     "fingerprint": "3f2a...", ...subclass fields}

`fingerprint` is the first 16 hex digits of the SHA-256 of kind, vocabulary, special ids and any
subclass fields: two tokenizers with the same fingerprint map every string to the same ids.
Load one with `tfllm.tokenizers.load_tokenizer(directory)`.
"""

import abc
import collections
import hashlib
import json
import types
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfllm.atomic_files import write_text_atomically
from tfllm.errors import TokenizerError
from tfllm.paths import TOKENIZER_FILE, check_tokenizer_dir
from tfllm.tokenizers.tokenizer_inputs import as_ragged_ids, as_string_tensor
from tfllm.tokenizers.tokenizer_inputs import short_repr

FORMAT_VERSION = 1
SPECIAL_NAMES = ("pad", "unk", "bos", "eos", "mask")
# tokenizer.json fields every kind has; any other field is a subclass's `_extra_config`.
_BASE_FIELDS = ("format_version", "kind", "vocabulary", "special_ids", "fingerprint")
# Shown in place of unknown (and masked) ids by `detokenize`.
REPLACEMENT_CHARACTER = "\ufffd"

# kind -> subclass, filled in by `Tokenizer.__init_subclass__`.
_REGISTRY = {}


def registered_kinds():
    """The tokenizer kinds that `load_tokenizer` understands, sorted."""
    return sorted(_REGISTRY)


def tokenizer_class(kind):
    """The `Tokenizer` subclass for `kind`; `TokenizerError` listing the known kinds otherwise."""
    if kind not in _REGISTRY:
        raise TokenizerError(
            f"Unknown tokenizer kind {kind!r}. Known kinds: {', '.join(registered_kinds())}. "
            f"Received: kind={kind!r}"
        )
    return _REGISTRY[kind]


class Tokenizer(tf.Module, abc.ABC):
    """Maps strings to int32 ids and back; usable in `tf.data` and inside exported functions.

    Args:
        vocabulary: list of token strings; the index of a token is its id.
        pad_id, unk_id, bos_id, eos_id, mask_id: ids of the special tokens; distinct, and each
            an index into `vocabulary`.
        name: name of the `tf.Module`.

    Call arguments of `tokenize`:
        inputs: a Python `str`, a list of `str`, or a `tf.string` tensor of rank 0 or 1.

    Returns of `tokenize`: rank 0 -> int32 `tf.Tensor` (T,); rank 1 -> int32 `tf.RaggedTensor`
    (B, None).

    Example:

    >>> from tfllm.tokenizers import CharTokenizer
    >>> tokenizer = CharTokenizer.from_texts(["to be or not to be"])
    >>> ids = tokenizer.tokenize(["to be", "or not"])  # ragged (2, None)
    >>> [s.decode() for s in tokenizer.detokenize(ids).numpy()]
    ['to be', 'or not']
    """

    # Subclasses set `kind`: the name saved in tokenizer.json and accepted by `build_tokenizer`.
    kind = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.kind is not None:
            _REGISTRY[cls.kind] = cls

    def __init__(self, vocabulary, *, pad_id=0, unk_id=1, bos_id=2, eos_id=3, mask_id=4, name=None):
        # Module names must be identifiers: "sentencepiece-bpe" -> "sentencepiece_bpe_tokenizer".
        super().__init__(name=name or f"{self.kind.replace('-', '_')}_tokenizer")
        if isinstance(vocabulary, str) or not all(isinstance(token, str) for token in vocabulary):
            raise ValueError(
                "vocabulary must be a list of token strings (index = id). "
                f"Received: vocabulary={short_repr(vocabulary)}"
            )
        vocabulary = tuple(vocabulary)
        duplicates = sorted(t for t, n in collections.Counter(vocabulary).items() if n > 1)
        if duplicates:
            raise ValueError(
                f"vocabulary has duplicate tokens {duplicates[:10]}: each token needs one id. "
                f"Received: vocabulary={short_repr(vocabulary)}"
            )
        special_ids = {"pad": pad_id, "unk": unk_id, "bos": bos_id, "eos": eos_id, "mask": mask_id}
        for special, value in special_ids.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (
                    0 <= value < len(vocabulary)):
                raise ValueError(
                    f"{special}_id must be an id in [0, {len(vocabulary)}) (the vocabulary size). "
                    f"Received: {special}_id={value!r}"
                )
        if len(set(special_ids.values())) != len(special_ids):
            raise ValueError(
                f"The special ids must be distinct. Received: {special_ids}"
            )
        # Plain Python data in immutable containers (tf.Module would wrap a list or dict).
        self._vocabulary = vocabulary
        self._special_ids = types.MappingProxyType({k: int(v) for k, v in special_ids.items()})

    # ----------------------------------------------------------------------------------------
    # Properties.

    @property
    def vocabulary(self):
        """List of token strings; index = id."""
        return list(self._vocabulary)

    @property
    def vocabulary_size(self):
        """V: the number of ids (the model's embedding and output size)."""
        return len(self._vocabulary)

    @property
    def pad_id(self):
        return self._special_ids["pad"]

    @property
    def unk_id(self):
        return self._special_ids["unk"]

    @property
    def bos_id(self):
        return self._special_ids["bos"]

    @property
    def eos_id(self):
        return self._special_ids["eos"]

    @property
    def mask_id(self):
        return self._special_ids["mask"]

    @property
    def special_ids(self):
        """Dict `{"pad": id, "unk": id, "bos": id, "eos": id, "mask": id}`."""
        return dict(self._special_ids)

    @property
    def fingerprint(self):
        """First 16 hex digits of SHA-256 over kind, vocabulary, special ids and extra config."""
        payload = {
            "kind": self.kind,
            "vocabulary": list(self._vocabulary),
            "special_ids": dict(self._special_ids),
            **self._extra_config(),
        }
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def __repr__(self):
        return (f"{type(self).__name__}(kind={self.kind!r}, vocabulary_size={self.vocabulary_size}, "
                f"fingerprint={self.fingerprint!r})")

    # ----------------------------------------------------------------------------------------
    # TensorFlow API: works eagerly, in tf.data and in tf.function.

    def tokenize(self, inputs):
        """Strings -> int32 ids. Rank 0 -> (T,) tensor; rank 1 -> (B, None) ragged tensor."""
        strings = as_string_tensor(inputs)
        rank = strings.shape.rank
        if rank == 0:
            return self._tokenize_batch(tf.reshape(strings, [1]))[0]  # (T,)
        if rank == 1:
            return self._tokenize_batch(strings)  # (B, None)
        raise ValueError(
            "tokenize takes a string or a rank-1 batch of strings; batch first, then tokenize. "
            f"Received: inputs with shape {strings.shape}"
        )

    def detokenize(self, ids):
        """Ids -> strings. (T,) -> scalar tf.string; (B, T) dense or ragged -> (B,) tf.string.

        pad, bos and eos ids are dropped; unk (and any id outside the vocabulary) becomes U+FFFD
        for char, byte and word tokenizers, `<unk>` for WordPiece and " ⁇ " for SentencePiece.
        """
        ragged, rank = as_ragged_ids(ids)
        strings = self._detokenize_batch(ragged)  # (B,)
        return strings[0] if rank == 1 else strings

    @abc.abstractmethod
    def _tokenize_batch(self, strings):
        """(B,) tf.string -> (B, None) int32 ragged ids."""

    @abc.abstractmethod
    def _detokenize_batch(self, ids):
        """(B, None) int32 ragged ids -> (B,) tf.string."""

    # ----------------------------------------------------------------------------------------
    # Python conveniences (eager).

    def encode(self, text):
        """`str` -> list of int ids."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str. Received: text={short_repr(text)}")
        return self.tokenize(text).numpy().tolist()

    def decode(self, ids):
        """Sequence of int ids -> `str` (specials dropped or replaced as in `detokenize`)."""
        return self.detokenize(np.asarray(ids, dtype=np.int32).reshape(-1)).numpy().decode("utf-8")

    def unknown_characters(self, text):
        """Sorted distinct characters of `text` that this tokenizer can only map to `unk_id`."""
        characters = sorted(set(text))
        if not characters:
            return []
        ids = self.tokenize(characters)
        return [c for c, row in zip(characters, ids.to_list()) if self.unk_id in row]

    # ----------------------------------------------------------------------------------------
    # Files.

    def get_config(self):
        """The JSON-serialisable content of tokenizer.json (without `fingerprint`)."""
        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "vocabulary": list(self._vocabulary),
            "special_ids": dict(self._special_ids),
            **self._extra_config(),
        }

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config`: the fields of `_extra_config` go back to the constructor as
        keyword arguments (e.g. `lowercase`); a subclass whose fields need decoding overrides it."""
        special_ids = config["special_ids"]
        extras = {key: value for key, value in config.items() if key not in _BASE_FIELDS}
        return cls(config["vocabulary"], **extras,
                   **{f"{name}_id": special_ids[name] for name in SPECIAL_NAMES})

    def _extra_config(self):
        """Subclass fields saved in tokenizer.json and covered by the fingerprint."""
        return {}

    @classmethod
    def load(cls, directory):
        """Loads `directory/tokenizer.json`, refusing one of another kind than `cls.kind`."""
        return read_tokenizer_file(directory, kind=cls.kind)

    def save(self, directory):
        """Writes `directory/tokenizer.json` atomically (temp file + rename); creates `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        content = {**self.get_config(), "fingerprint": self.fingerprint}
        text = json.dumps(content, indent=1, ensure_ascii=False) + "\n"
        return write_text_atomically(directory / TOKENIZER_FILE, text)


def read_tokenizer_file(directory, kind=None):
    """Reads and checks `directory/tokenizer.json`; returns the matching `Tokenizer` subclass.

    Raises `TokenizerError` (one line) for a missing directory or file, malformed JSON, missing
    fields, an unknown kind or format version, contents that do not fit the kind the file
    names, a kind other than `kind` (when given), and a fingerprint that does not match.
    """
    path = check_tokenizer_dir(directory) / TOKENIZER_FILE
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise TokenizerError(
            f"{path} is not valid UTF-8 JSON ({error}); the file is corrupt: save the tokenizer "
            f"again. Received: path={str(path)!r}"
        ) from None
    if not isinstance(content, dict):
        raise TokenizerError(
            f"{path} must hold a JSON object. Received: {type(content).__name__}"
        )
    missing = [k for k in _BASE_FIELDS if k not in content]
    if missing:
        raise TokenizerError(
            f"{path} lacks the field(s) {missing}; the file is corrupt or not a tfllm tokenizer. "
            f"Received: keys={sorted(content)}"
        )
    if content["format_version"] != FORMAT_VERSION:
        raise TokenizerError(
            f"{path} has format_version {content['format_version']!r}; this tfllm reads version "
            f"{FORMAT_VERSION}. Received: format_version={content['format_version']!r}"
        )
    cls = tokenizer_class(content["kind"])
    if kind is not None and content["kind"] != kind:
        raise TokenizerError(
            f"{path} holds a {content['kind']!r} tokenizer, not the {kind!r} tokenizer asked "
            f"for; give a directory saved from a {kind!r} tokenizer. "
            f"Received: kind={content['kind']!r}"
        )
    special_ids = content["special_ids"]
    if not isinstance(special_ids, dict) or sorted(special_ids) != sorted(SPECIAL_NAMES):
        raise TokenizerError(
            f"{path}: special_ids must map each of {list(SPECIAL_NAMES)} to an id. "
            f"Received: special_ids={special_ids!r}"
        )
    config = {k: v for k, v in content.items() if k != "fingerprint"}
    try:
        tokenizer = cls.from_config(config)
    except (ValueError, TypeError, KeyError) as error:
        raise TokenizerError(
            f"{path} does not describe a valid {content['kind']!r} tokenizer (its metadata and "
            f"contents disagree, or it was edited): {' '.join(str(error).split())}. "
            f"Received: kind={content['kind']!r}"
        ) from None
    if tokenizer.fingerprint != content["fingerprint"]:
        raise TokenizerError(
            f"{path} was modified: its contents have fingerprint {tokenizer.fingerprint} but the "
            f"file records {content['fingerprint']}. Restore the original file. "
            f"Received: fingerprint={content['fingerprint']!r}"
        )
    return tokenizer
