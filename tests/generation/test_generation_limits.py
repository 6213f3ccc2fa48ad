"""`generate` refuses a request over tfllm's limits before it allocates anything.

"Before anything is allocated" is checked by the decoder cache: a refused call never creates
the model's `CachedDecoder`, let alone its state.
"""

import doctest

import pytest

import tfllm.generation.decode_memory
from tfllm.errors import GenerationError
from tfllm.generation import generate
from tfllm.generation.decode_memory import (cache_bytes_per_row, check_decode_memory,
                                            decode_bytes)
from tfllm.generation.generate import _DECODERS
from tfllm.models import GPT, LSTMLanguageModel
from tfllm.tokenizers import CharTokenizer

TOKENIZER = CharTokenizer.from_texts(["ROMEO: But soft, what light through yonder window breaks?"])


def make_gpt():
    return GPT(vocabulary_size=TOKENIZER.vocabulary_size, sequence_length=16, num_layers=2,
               num_heads=2, hidden_dim=16, intermediate_dim=32)


@pytest.mark.parametrize("arguments, fragments", [
    (dict(max_new_tokens=10**9), ["max_new_tokens=1,000,000,000", "65,536",
                                  "TFLLM_MAX_NEW_TOKENS"]),
    (dict(num_return_sequences=10**6), ["num_return_sequences 1,000,000", "1,024 rows",
                                        "TFLLM_MAX_GENERATION_ROWS"]),
    (dict(num_beams=2000), ["num_beams 2,000", "TFLLM_MAX_GENERATION_ROWS"]),
])
def test_sizes_over_the_limits_are_refused_before_decoding(arguments, fragments):
    model = make_gpt()
    with pytest.raises(GenerationError) as info:
        generate(model, TOKENIZER, "ROMEO:", **arguments)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert model not in _DECODERS


def test_prompts_times_sequences_is_one_batch():
    model = make_gpt()
    with pytest.raises(GenerationError, match=r"600 prompt\(s\) x num_return_sequences 2 = 1,200"):
        generate(model, TOKENIZER, ["ROMEO:"] * 600, num_return_sequences=2, max_new_tokens=1)
    assert model not in _DECODERS


def test_the_estimated_memory_is_bounded_and_the_limit_can_be_raised(monkeypatch):
    model = make_gpt()
    monkeypatch.setenv("TFLLM_MAX_GENERATION_MB", "1")
    with pytest.raises(GenerationError, match="over the limit of 1 MB.*TFLLM_MAX_GENERATION_MB"):
        generate(model, TOKENIZER, ["ROMEO:"] * 256, max_new_tokens=256, seed=1)
    assert model not in _DECODERS
    # The same request, with the prompts padded to 8 slots and 256 new slots, passes a raised limit.
    monkeypatch.setenv("TFLLM_MAX_GENERATION_MB", "64")
    estimate = check_decode_memory(model, 256, 8, 256, max_new_tokens=256)
    assert 2**20 < estimate == decode_bytes(model, rows=256, prompt_slots=8, new_slots=256)


def test_cache_bytes_come_from_the_traced_cache_shapes():
    gpt = make_gpt()
    # 2 layers x (1, 2 keys/values, 2 heads, 16 slots, 8 features) float32.
    assert cache_bytes_per_row(gpt, 16) == 2 * 2 * 2 * 16 * 8 * 4
    lstm = LSTMLanguageModel(vocabulary_size=TOKENIZER.vocabulary_size, hidden_dim=16,
                             num_layers=2)
    assert cache_bytes_per_row(lstm, 1000) == 2 * 2 * 16 * 4  # (1, L, 2, D), any length
    # The estimate grows with every size a caller controls.
    base = decode_bytes(gpt, rows=4, prompt_slots=8, new_slots=64)
    assert decode_bytes(gpt, rows=8, prompt_slots=8, new_slots=64) == 2 * base
    assert decode_bytes(gpt, rows=4, prompt_slots=8, new_slots=128) > base
    assert decode_bytes(gpt, rows=4, prompt_slots=16, new_slots=64) > base


def test_docstring_examples():
    result = doctest.testmod(tfllm.generation.decode_memory, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
