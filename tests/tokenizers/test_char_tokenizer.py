"""CharTokenizer and the Tokenizer contract: the same ids eagerly, in tf.data and in tf.function;
round trips on real play text; unknown characters; save/load and its errors."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tfllm.data.shakespeare import load_plays
from tfllm.errors import CorpusError, TokenizerError
from tfllm.tokenizers import CharTokenizer, Tokenizer, build_tokenizer, load_tokenizer


@pytest.fixture(scope="module")
def play_text():
    return next(play for play in load_plays() if play.slug == "macbeth").text


@pytest.fixture(scope="module")
def tokenizer(play_text):
    return CharTokenizer.from_texts([play_text])


@pytest.fixture(scope="module")
def lines(play_text):
    return play_text.splitlines()[:200] + ["", "é and ☃ are unknown"]


def test_vocabulary_layout(tokenizer, play_text):
    assert isinstance(tokenizer, Tokenizer) and isinstance(tokenizer, tf.Module)
    assert tokenizer.kind == "char"
    assert tokenizer.vocabulary[:5] == ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"]
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.eos_id,
            tokenizer.mask_id) == (0, 1, 2, 3, 4)
    characters = tokenizer.vocabulary[5:]
    assert characters == sorted(set(play_text))  # code-point order
    assert tokenizer.vocabulary_size == 5 + len(characters)
    assert len(tokenizer.fingerprint) == 16 and int(tokenizer.fingerprint, 16) >= 0


def test_small_example_ids():
    tokenizer = CharTokenizer.from_texts(["To be, or not to be"])
    assert tokenizer.vocabulary[5:] == [" ", ",", "T", "b", "e", "n", "o", "r", "t"]
    assert tokenizer.encode("be!") == [8, 9, 1]
    assert tokenizer.decode([2, 8, 9, 3, 0]) == "be"


def test_eager_dataset_batched_and_tf_function_agree(tokenizer, lines):
    expected = [tokenizer.tokenize(line).numpy().tolist() for line in lines]  # eager, rank 0
    assert tokenizer.tokenize(lines).to_list() == expected  # eager, rank 1

    mapped = tf.data.Dataset.from_tensor_slices(lines).map(tokenizer.tokenize)
    assert [ids.tolist() for ids in mapped.as_numpy_iterator()] == expected

    batched = tf.data.Dataset.from_tensor_slices(lines).batch(7).map(tokenizer.tokenize)
    assert [row for batch in batched for row in batch.to_list()] == expected

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize_graph(strings):
        return tokenizer.tokenize(strings)

    assert tokenize_graph(tf.constant(lines)).to_list() == expected
    ragged = tokenizer.tokenize(lines)
    assert ragged.dtype == tf.int32 and ragged.shape.rank == 2
    assert tokenizer.tokenize(lines[0]).dtype == tf.int32


def test_round_trip_on_play_text(tokenizer, play_text):
    assert tokenizer.detokenize(tokenizer.tokenize(play_text)).numpy().decode() == play_text
    lines = play_text.splitlines()[:300]
    restored = tokenizer.detokenize(tokenizer.tokenize(lines)).numpy()
    assert [s.decode() for s in restored] == lines
    assert tokenizer.decode(tokenizer.encode(play_text[:2000])) == play_text[:2000]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(strings):
        return tokenizer.detokenize(tokenizer.tokenize(strings))

    assert [s.decode() for s in round_trip(tf.constant(lines)).numpy()] == lines


def test_detokenize_dense_drops_specials_and_marks_unknown(tokenizer):
    a, b = tokenizer.encode("ab")
    dense = np.array([[tokenizer.bos_id, a, b, tokenizer.eos_id, tokenizer.pad_id],
                      [a, tokenizer.unk_id, 10_000, -1, tokenizer.mask_id]], dtype=np.int64)
    assert tokenizer.detokenize(dense).numpy().tolist() == [b"ab", ("a" + "\ufffd" * 4).encode()]
    assert tokenizer.detokenize(tf.constant([], tf.int32)).numpy() == b""


def test_unknown_characters(tokenizer):
    text = "Macbeth é ☃ é"
    ids = tokenizer.encode(text)
    assert ids.count(tokenizer.unk_id) == 3
    assert tokenizer.unknown_characters(text) == ["é", "☃"]
    assert tokenizer.unknown_characters("Macbeth") == []
    assert tokenizer.decode(ids) == "Macbeth \ufffd \ufffd \ufffd"
    # Invalid UTF-8 bytes become unk instead of failing the pipeline.
    assert tokenizer.tokenize(tf.constant(b"a\xffb")).numpy().tolist() == [
        tokenizer.encode("a")[0], tokenizer.unk_id, tokenizer.encode("b")[0]]


def test_from_texts_validation():
    with pytest.raises(CorpusError, match="empty"):
        CharTokenizer.from_texts([])
    with pytest.raises(CorpusError, match="empty"):
        CharTokenizer.from_texts(["", ""])
    with pytest.raises(ValueError, match="min_frequency"):
        CharTokenizer.from_texts(["abc"], min_frequency=0)
    rare = CharTokenizer.from_texts(["aab"], min_frequency=2)
    assert rare.vocabulary[5:] == ["a"] and rare.unknown_characters("ab") == ["b"]


def test_invalid_inputs(tokenizer):
    with pytest.raises(ValueError, match="shape"):
        tokenizer.tokenize(tf.constant([["a"]]))
    with pytest.raises(TypeError, match="strings"):
        tokenizer.tokenize(tf.constant([1, 2]))
    with pytest.raises(ValueError, match="single characters"):
        CharTokenizer(["<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "ab"])
    with pytest.raises(ValueError, match="duplicate"):
        CharTokenizer(["<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "a", "a"])
    with pytest.raises(ValueError, match="mask_id"):
        CharTokenizer(["<pad>", "<unk>", "<bos>", "<eos>"])


def test_save_load_round_trip(tokenizer, tmp_path, lines):
    path = tokenizer.save(tmp_path / "nested" / "tok")
    assert path.name == "tokenizer.json"
    assert [p.name for p in path.parent.iterdir()] == ["tokenizer.json"]  # no temp file left
    content = json.loads(path.read_text(encoding="utf-8"))
    assert content["kind"] == "char" and content["fingerprint"] == tokenizer.fingerprint
    assert content["format_version"] == 1
    loaded = load_tokenizer(tmp_path / "nested" / "tok")
    assert type(loaded) is CharTokenizer
    assert loaded.vocabulary == tokenizer.vocabulary
    assert loaded.special_ids == tokenizer.special_ids
    assert loaded.fingerprint == tokenizer.fingerprint
    assert loaded.tokenize(lines).to_list() == tokenizer.tokenize(lines).to_list()
    assert build_tokenizer(str(tmp_path / "nested" / "tok"), None).fingerprint == tokenizer.fingerprint
    assert CharTokenizer.from_texts(["other"]).fingerprint != tokenizer.fingerprint


def _load_error(directory, pattern):
    with pytest.raises(TokenizerError, match=pattern) as info:
        load_tokenizer(directory)
    assert "\n" not in str(info.value)  # the CLI prints it as one line


def test_load_errors(tokenizer, tmp_path):
    _load_error(tmp_path / "missing", "No tokenizer directory")
    (tmp_path / "empty").mkdir()
    _load_error(tmp_path / "empty", "no tokenizer.json")

    path = tokenizer.save(tmp_path / "tok")
    good = json.loads(path.read_text(encoding="utf-8"))

    path.write_text('{"kind": "char", ', encoding="utf-8")
    _load_error(tmp_path / "tok", "not valid UTF-8 JSON")

    path.write_text(json.dumps({**good, "kind": "klingon"}), encoding="utf-8")
    _load_error(tmp_path / "tok", r"Unknown tokenizer kind 'klingon'.*Known kinds: .*char")

    tampered = dict(good, vocabulary=good["vocabulary"][:-1] + ["~"])
    path.write_text(json.dumps(tampered), encoding="utf-8")
    _load_error(tmp_path / "tok", "was modified")

    path.write_text(json.dumps({k: v for k, v in good.items() if k != "vocabulary"}), encoding="utf-8")
    _load_error(tmp_path / "tok", "lacks the field.*vocabulary")

    path.write_text(json.dumps(dict(good, special_ids={**good["special_ids"], "pad": 999})),
                    encoding="utf-8")
    _load_error(tmp_path / "tok", "pad_id")


def test_build_tokenizer_kinds(tmp_path):
    assert build_tokenizer("char", ["abc"]).vocabulary[5:] == ["a", "b", "c"]
    with pytest.raises(TokenizerError, match="char"):
        build_tokenizer("wordpiece-xl", ["abc"])
