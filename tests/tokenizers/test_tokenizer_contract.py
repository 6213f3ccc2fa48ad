"""The Tokenizer contract, for every kind: the same ids eagerly, in `ds.map` (scalar and batched)
and in a `tf.function`; line-aligned chunks give the ids of the whole text; save/load keeps the
fingerprint and the ids; a directory of another kind is refused; and an exported SavedModel gives
the same ids in a fresh process that imports only TensorFlow and tf-text."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tests.tokenizers.conftest import KINDS
from tfllm.data import tokenize_corpus_text
from tfllm.errors import CorpusError, TokenizerError
from tfllm.tokenizers import (
    ByteTokenizer,
    SentencePieceBpeTokenizer,
    Tokenizer,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
    registered_kinds,
)


def test_registered_kinds():
    assert registered_kinds() == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_special_ids_and_layout(trained_tokenizers, kind):
    tokenizer = trained_tokenizers[kind]
    assert isinstance(tokenizer, Tokenizer) and isinstance(tokenizer, tf.Module)
    assert tokenizer.kind == kind
    assert tokenizer.vocabulary[:5] == ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"]
    assert tokenizer.special_ids == {"pad": 0, "unk": 1, "bos": 2, "eos": 3, "mask": 4}
    assert len(set(tokenizer.vocabulary)) == tokenizer.vocabulary_size
    assert len(tokenizer.fingerprint) == 16


@pytest.mark.parametrize("kind", KINDS)
def test_eager_dataset_batched_and_tf_function_agree(trained_tokenizers, sample_lines, kind):
    tokenizer = trained_tokenizers[kind]
    expected = [tokenizer.tokenize(line).numpy().tolist() for line in sample_lines]  # rank 0
    assert sum(map(len, expected)) > 500
    assert tokenizer.tokenize(sample_lines).to_list() == expected  # rank 1
    assert all(0 <= i < tokenizer.vocabulary_size for row in expected for i in row)

    mapped = tf.data.Dataset.from_tensor_slices(sample_lines).map(tokenizer.tokenize)
    assert [ids.tolist() for ids in mapped.as_numpy_iterator()] == expected

    batched = tf.data.Dataset.from_tensor_slices(sample_lines).batch(16).map(tokenizer.tokenize)
    assert [row for batch in batched for row in batch.to_list()] == expected

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize_graph(strings):
        return tokenizer.tokenize(strings)

    assert tokenize_graph(tf.constant(sample_lines)).to_list() == expected
    # Detokenizing agrees between eager and dataset too.
    texts = tokenizer.detokenize(tf.ragged.constant(expected, dtype=tf.int32)).numpy().tolist()
    detokenized = tf.data.Dataset.from_tensor_slices(tf.ragged.constant(expected, dtype=tf.int32))
    assert list(detokenized.map(tokenizer.detokenize).as_numpy_iterator()) == texts


@pytest.mark.parametrize("kind", KINDS)
def test_chunked_corpus_tokenization_equals_whole_text(trained_tokenizers, other_text, kind):
    tokenizer = trained_tokenizers[kind]
    text = other_text[:20_000]
    whole = tokenizer.tokenize(text).numpy()
    chunked = tokenize_corpus_text(tokenizer, text, chunk_characters=500)
    np.testing.assert_array_equal(chunked, whole)
    assert chunked.dtype == np.int32


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_equality(trained_tokenizers, sample_lines, tmp_path, kind):
    tokenizer = trained_tokenizers[kind]
    path = tokenizer.save(tmp_path / "tok")
    assert [p.name for p in path.parent.iterdir()] == ["tokenizer.json"]  # no temp file left
    loaded = load_tokenizer(tmp_path / "tok")
    assert type(loaded) is type(tokenizer)
    assert loaded.fingerprint == tokenizer.fingerprint
    assert loaded.vocabulary == tokenizer.vocabulary
    assert loaded.tokenize(sample_lines).to_list() == tokenizer.tokenize(sample_lines).to_list()
    assert type(tokenizer).load(tmp_path / "tok").fingerprint == tokenizer.fingerprint
    assert build_tokenizer(str(tmp_path / "tok"), None).fingerprint == tokenizer.fingerprint


def test_learning_is_deterministic(trained_tokenizers, training_text):
    from tests.tokenizers.conftest import OPTIONS

    for kind in ("word", "wordpiece", "sentencepiece-unigram", "sentencepiece-bpe"):
        again = build_tokenizer(kind, [training_text], **OPTIONS[kind])
        assert again.fingerprint == trained_tokenizers[kind].fingerprint, kind


def test_directory_of_another_kind_is_refused(trained_tokenizers, tmp_path):
    trained_tokenizers["word"].save(tmp_path / "word")
    with pytest.raises(TokenizerError, match="holds a 'word' tokenizer, not the 'byte'"):
        ByteTokenizer.load(tmp_path / "word")
    with pytest.raises(TokenizerError, match="not the 'sentencepiece-bpe'"):
        load_tokenizer(tmp_path / "word", kind="sentencepiece-bpe")
    # Metadata that names another kind than the contents: refused on one line.
    content = json.loads((tmp_path / "word" / "tokenizer.json").read_text(encoding="utf-8"))
    for kind in ("sentencepiece-bpe", "byte", "char"):
        (tmp_path / "word" / "tokenizer.json").write_text(
            json.dumps(dict(content, kind=kind)), encoding="utf-8")
        with pytest.raises(TokenizerError, match=f"valid '{kind}' tokenizer") as info:
            load_tokenizer(tmp_path / "word")
        assert "\n" not in str(info.value)
    assert SentencePieceBpeTokenizer.kind == "sentencepiece-bpe"


@pytest.mark.parametrize("kind", ["word", "wordpiece", "sentencepiece-unigram", "sentencepiece-bpe"])
@pytest.mark.parametrize("texts", [[], [""], ["  \n\t\n", " "]])
def test_empty_corpus_says_how_much_was_read(kind, texts):
    lines = sum(len(t.splitlines()) for t in texts)
    with pytest.raises(CorpusError, match=rf"read {len(texts)} text\(s\), {lines} line\(s\)"):
        build_tokenizer(kind, texts)


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece-unigram", "sentencepiece-bpe"])
def test_vocabulary_larger_than_corpus_supports(kind):
    with pytest.raises(TokenizerError, match=r"vocabulary_size=5000 is more than this corpus supports.*at most \d+"):
        build_tokenizer(kind, ["To be, or not to be: that is the question."], vocabulary_size=5000)


def test_unknown_kind_and_options():
    with pytest.raises(TokenizerError, match="byte, char, sentencepiece-bpe, sentencepiece-unigram, word, wordpiece"):
        build_tokenizer("klingon", ["abc"])
    with pytest.raises(TokenizerError, match="does not take the option.*vocabulary_size"):
        build_tokenizer("char", ["abc"], vocabulary_size=10)
    with pytest.raises(TokenizerError,
                       match="`vocabulary_size` must be an integer >= 262. Received: vocabulary_size=100"):
        build_tokenizer("sentencepiece-bpe", ["abc"], vocabulary_size=100)
    with pytest.raises(TokenizerError, match="`max_vocabulary_size` must be an integer >= 6. "
                                             "Received: max_vocabulary_size=2"):
        WordTokenizer.from_texts(["abc"], max_vocabulary_size=2)


EXPORT_SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    import tensorflow_text  # registers the tf-text ops the SavedModels use
    result = {}
    lines = json.loads(sys.stdin.read())
    for kind, path in json.loads(sys.argv[1]).items():
        module = tf.saved_model.load(path)
        out = module.tokenize(tf.constant(lines))
        ids = tf.RaggedTensor.from_row_lengths(out["ids"], out["lengths"]).to_list()
        texts = module.detokenize(out["ids"], out["lengths"]).numpy().tolist()
        result[kind] = {"ids": ids, "texts": [t.decode("utf-8", "replace") for t in texts]}
    assert not any(name.startswith("tfllm") for name in sys.modules)
    print(json.dumps(result))
""")


class _ExportedTokenizer(tf.Module):
    def __init__(self, tokenizer):
        super().__init__()
        self.tokenizer = tokenizer

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize(self, strings):
        ids = self.tokenizer.tokenize(strings)  # (B, None)
        return {"ids": ids.flat_values, "lengths": ids.row_lengths()}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int64)])
    def detokenize(self, flat_ids, lengths):
        return self.tokenizer.detokenize(tf.RaggedTensor.from_row_lengths(flat_ids, lengths))


def test_export_reloads_in_a_fresh_process(trained_tokenizers, sample_lines, tmp_path):
    paths = {}
    for kind, tokenizer in trained_tokenizers.items():
        paths[kind] = str(tmp_path / kind)
        tf.saved_model.save(_ExportedTokenizer(tokenizer), paths[kind])
    completed = subprocess.run(
        [sys.executable, "-c", EXPORT_SCRIPT, json.dumps(paths)],
        input=json.dumps(sample_lines), capture_output=True, text=True, timeout=180,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    for kind, tokenizer in trained_tokenizers.items():
        ids = tokenizer.tokenize(sample_lines)
        assert result[kind]["ids"] == ids.to_list(), kind
        expected = [t.decode("utf-8", "replace") for t in tokenizer.detokenize(ids).numpy().tolist()]
        assert result[kind]["texts"] == expected, kind
