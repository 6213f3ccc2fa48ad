"""WordPieceTokenizer: tf-text's learner and runtime, continuation pieces, unknown words, the
special pieces, lower-casing, and the same ids as a bare FastWordpieceTokenizer."""

import tensorflow as tf
import tensorflow_text as tf_text

from tfllm.tokenizers import WordPieceTokenizer


def test_same_ids_as_the_raw_tf_text_op(trained_tokenizers, sample_lines):
    tokenizer = trained_tokenizers["wordpiece"]
    raw = tf_text.FastWordpieceTokenizer(vocab=tokenizer.vocabulary, unknown_token="<unk>",
                                         token_out_type=tf.int32)
    assert tokenizer.tokenize(sample_lines).to_list() == raw.tokenize(sample_lines).to_list()


def test_pieces_and_unknown_words(trained_tokenizers):
    tokenizer = trained_tokenizers["wordpiece"]
    vocabulary = tokenizer.vocabulary
    assert 270 <= tokenizer.vocabulary_size <= 300  # the learner's target, within its slack
    assert any(piece.startswith("##") for piece in vocabulary)
    ids = tokenizer.encode("Macbeth, thou unfathomably ☃")
    pieces = [vocabulary[i] for i in ids]
    assert pieces[-1] == "<unk>"  # a word that no pieces spell is one unknown token
    assert any(p.startswith("##") for p in pieces)
    assert tokenizer.decode(ids) == "Macbeth, thou unfathomably <unk>"
    assert tokenizer.encode("<pad>") != [tokenizer.pad_id]  # text never becomes a special id
    assert tokenizer.decode([tokenizer.bos_id] + tokenizer.encode("thou") + [tokenizer.eos_id,
                                                                                tokenizer.pad_id]) == "thou"


def test_lowercase(training_text):
    tokenizer = WordPieceTokenizer.from_texts([training_text[:30_000]], vocabulary_size=200,
                                              lowercase=True)
    assert tokenizer.lowercase
    assert not any(c.isupper() for piece in tokenizer.vocabulary[5:] for c in piece)
    assert tokenizer.encode("MACBETH") == tokenizer.encode("macbeth")
