"""ByteTokenizer: fixed ids (byte + 5), exact bytes back (even invalid UTF-8), specials."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.tokenizers import ByteTokenizer, build_tokenizer


def test_ids_are_bytes_plus_five():
    tokenizer = ByteTokenizer()
    assert tokenizer.vocabulary_size == 261
    assert tokenizer.encode("A é") == [0x41 + 5, 0x20 + 5, 0xC3 + 5, 0xA9 + 5]
    assert tokenizer.vocabulary[0x41 + 5] == "A" and tokenizer.vocabulary[0x20 + 5] == "<0x20>"
    assert build_tokenizer("byte", ["ignored"]).fingerprint == tokenizer.fingerprint
    assert tokenizer.unknown_characters("☃") == []


def test_invalid_utf8_round_trips_as_bytes():
    tokenizer = ByteTokenizer()
    data = b"a\xff\xfe\x00b"
    ids = tokenizer.tokenize(tf.constant(data))
    assert ids.numpy().tolist() == [b + 5 for b in data]
    assert tokenizer.detokenize(ids).numpy() == data


def test_detokenize_specials_and_out_of_range():
    tokenizer = ByteTokenizer()
    a = ord("a") + 5
    dense = np.array([[tokenizer.bos_id, a, tokenizer.eos_id, tokenizer.pad_id],
                      [a, tokenizer.unk_id, 999, tokenizer.mask_id]], dtype=np.int32)
    assert tokenizer.detokenize(dense).numpy().tolist() == [b"a", ("a" + "\ufffd" * 3).encode()]


def test_fixed_vocabulary_is_enforced():
    with pytest.raises(ValueError, match="fixed vocabulary"):
        ByteTokenizer(["<pad>", "<unk>"])
    with pytest.raises(ValueError, match="special ids are fixed"):
        ByteTokenizer(pad_id=1, unk_id=0)
