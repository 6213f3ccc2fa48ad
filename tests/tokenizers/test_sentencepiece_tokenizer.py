"""SentencePiece tokenizers: the model proto in tokenizer.json, exact vocabulary size, the same
ids as the `sentencepiece` package, byte fallback on or off, and a model that survives
`tf.random.set_seed` (which clears TensorFlow's eager kernel cache)."""

import base64
import json

import pytest
import sentencepiece
import tensorflow as tf

from tfllm.errors import TokenizerError
from tfllm.tokenizers import SentencePieceBpeTokenizer, SentencePieceUnigramTokenizer, load_tokenizer

KINDS = ("sentencepiece-unigram", "sentencepiece-bpe")


@pytest.mark.parametrize("kind", KINDS)
def test_same_ids_as_the_sentencepiece_package(trained_tokenizers, sample_lines, kind):
    tokenizer = trained_tokenizers[kind]
    assert tokenizer.vocabulary_size == 400  # exactly as asked
    processor = sentencepiece.SentencePieceProcessor(model_proto=tokenizer.model_proto)
    assert tokenizer.tokenize(sample_lines).to_list() == processor.encode(sample_lines)
    assert tokenizer.vocabulary == [processor.id_to_piece(i) for i in range(400)]


@pytest.mark.parametrize("kind", KINDS)
def test_survives_set_seed(trained_tokenizers, kind):
    tokenizer = trained_tokenizers[kind]
    before = tokenizer.encode("Fair is foul")
    tf.random.set_seed(7)  # clears the eager kernel cache; a kernel-owned model would be lost
    assert tokenizer.encode("Fair is foul") == before


def test_model_proto_is_stored_and_checked(trained_tokenizers, tmp_path):
    tokenizer = trained_tokenizers["sentencepiece-bpe"]
    tokenizer.save(tmp_path)
    content = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    assert content["model_type"] == "bpe"
    assert base64.b64decode(content["model_proto"]) == tokenizer.model_proto
    other = trained_tokenizers["sentencepiece-unigram"]
    (tmp_path / "tokenizer.json").write_text(json.dumps(
        dict(content, model_proto=base64.b64encode(other.model_proto).decode())), encoding="utf-8")
    with pytest.raises(TokenizerError, match="does not match the pieces"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text(json.dumps(dict(content, model_proto="!!")),
                                             encoding="utf-8")
    with pytest.raises(TokenizerError, match="base64"):
        load_tokenizer(tmp_path)


def test_without_byte_fallback_unknown_characters_are_unk(training_text):
    tokenizer = SentencePieceUnigramTokenizer.from_texts(
        [training_text[:30_000]], vocabulary_size=150, byte_fallback=False)
    assert tokenizer.vocabulary_size == 150
    assert not any(piece.startswith("<0x") for piece in tokenizer.vocabulary)
    assert tokenizer.unk_id in tokenizer.encode("☃")
    assert tokenizer.unknown_characters("a☃") == ["☃"]


def test_vocabulary_too_small_for_the_characters(training_text):
    with pytest.raises(TokenizerError, match="too small.*need"):
        SentencePieceBpeTokenizer.from_texts([training_text], vocabulary_size=270)


# Loads a saved SentencePiece tokenizer (argv[1]) and trains one, then trains another with
# TFLLM_DEBUG=1; TensorFlow's own start-up lines are hidden first, as the CLI hides them.
_NATIVE_LOG_SCRIPT = """
import os, sys
from tfllm.native_stderr import native_stderr_hidden
with native_stderr_hidden():
    import tensorflow as tf
    import tensorflow_text
    tf.config.list_physical_devices()
from tfllm.tokenizers import SentencePieceBpeTokenizer, SentencePieceUnigramTokenizer, load_tokenizer
texts = ["To be, or not to be: that is the question:", "Whether 'tis nobler in the mind",
         "to suffer the slings and arrows of outrageous fortune,"] * 10
print(load_tokenizer(sys.argv[1]).encode("Fair is foul"))
print(SentencePieceUnigramTokenizer.from_texts(texts, vocabulary_size=290).encode("to be"))
sys.stderr.flush()
os.write(2, b"--- TFLLM_DEBUG=1\\n")
os.environ["TFLLM_DEBUG"] = "1"
print(SentencePieceBpeTokenizer.from_texts(texts, vocabulary_size=290).encode("to be"))
"""


def test_native_log_line_is_hidden_unless_debugging(trained_tokenizers, tmp_path):
    # tf-text logs "normalizer.cc(51) LOG(INFO) ..." from C++ on fd 2 for each new model, which
    # in-process capture cannot see: run a fresh process, as a user of the library would.
    import os
    import subprocess
    import sys

    trained_tokenizers["sentencepiece-bpe"].save(tmp_path)
    env = {key: value for key, value in os.environ.items()
           if key not in ("TFLLM_DEBUG", "TF_CPP_MIN_LOG_LEVEL")}
    result = subprocess.run([sys.executable, "-c", _NATIVE_LOG_SCRIPT, str(tmp_path)],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3, result.stdout
    quiet, marker, debug = result.stderr.partition("--- TFLLM_DEBUG=1\n")
    assert marker and quiet == "", result.stderr
    assert "normalizer.cc" in debug, result.stderr
