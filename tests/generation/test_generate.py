"""`generate` with a real (tiny, untrained) GPT and character tokenizer."""

import pytest

from tfllm.errors import GenerationError
from tfllm.generation import encode_prompt, generate
from tfllm.models import GPT
from tfllm.tokenizers import CharTokenizer

TOKENIZER = CharTokenizer.from_texts(["ROMEO: But soft, what light through yonder window breaks?"])


@pytest.fixture(scope="module")
def model():
    return GPT(vocabulary_size=TOKENIZER.vocabulary_size, sequence_length=8, num_layers=1,
               num_heads=2, hidden_dim=8, intermediate_dim=16)


def test_generates_exactly_max_new_tokens_and_is_seeded(model):
    first = generate(model, TOKENIZER, "ROMEO:", max_new_tokens=20, seed=3)
    assert isinstance(first, str)
    assert 0 < len(first) <= 20  # special ids (pad, bos, ...) decode to nothing
    assert first == generate(model, TOKENIZER, "ROMEO:", max_new_tokens=20, seed=3)


def test_slides_past_the_context_and_batches_prompts_of_different_lengths(model):
    long_prompt = "But soft, what light through yonder window"  # longer than T = 8
    outputs = generate(model, TOKENIZER, [long_prompt, "R"], max_new_tokens=12, temperature=0)
    assert isinstance(outputs, list) and len(outputs) == 2
    # Greedy decoding of one prompt alone equals the same prompt inside a batch.
    assert outputs[1] == generate(model, TOKENIZER, "R", max_new_tokens=12, temperature=0)
    assert outputs[0] == generate(model, TOKENIZER, long_prompt, max_new_tokens=12, temperature=0)


def test_unknown_characters_are_dropped_or_refused():
    ids, missing = encode_prompt(TOKENIZER, "ROMEO€:")
    assert missing == ["€"] and ids == TOKENIZER.encode("ROMEO:")
    with pytest.raises(GenerationError, match="not in the tokenizer's vocabulary"):
        encode_prompt(TOKENIZER, "ROMEO€:", unknown="error")


def test_empty_prompt_starts_from_bos():
    ids, _ = encode_prompt(TOKENIZER, "")
    assert ids == [TOKENIZER.bos_id]


@pytest.mark.parametrize(
    "kwargs, name",
    [({"max_new_tokens": 0}, "max_new_tokens"), ({"temperature": -1.0}, "temperature"),
     ({"top_k": -1}, "top_k"), ({"prompts": []}, "prompts")],
)
def test_invalid_arguments(model, kwargs, name):
    arguments = {"prompts": "ROMEO:", "max_new_tokens": 5, **kwargs}
    prompts = arguments.pop("prompts")
    with pytest.raises(GenerationError, match=name):
        generate(model, TOKENIZER, prompts, **arguments)


def test_tokenizer_that_does_not_match_the_model(model):
    other = CharTokenizer.from_texts(["xyz"])
    with pytest.raises(GenerationError, match="does not match the model"):
        generate(model, other, "x", max_new_tokens=2)
