"""`generate` end to end with real (tiny, untrained) models and a character tokenizer."""

import numpy as np
import pytest

import keras
from tfllm.errors import GenerationError
from tfllm.generation import encode_prompt, generate, get_decoder
from tfllm.models import GPT, LSTMLanguageModel
from tfllm.tokenizers import CharTokenizer

TOKENIZER = CharTokenizer.from_texts(["ROMEO: But soft, what light through yonder window breaks?"])
CONTEXT = 16


def make_gpt(seed=0):
    keras.utils.set_random_seed(seed)
    return GPT(vocabulary_size=TOKENIZER.vocabulary_size, sequence_length=CONTEXT, num_layers=2,
               num_heads=2, hidden_dim=16, intermediate_dim=32)


@pytest.fixture(scope="module")
def gpt():
    return make_gpt()


@pytest.fixture(scope="module")
def lstm():
    keras.utils.set_random_seed(0)
    return LSTMLanguageModel(vocabulary_size=TOKENIZER.vocabulary_size, hidden_dim=16,
                             num_layers=2, sequence_length=CONTEXT)


def full_pass_greedy(model, prompt_ids, steps, never_ids):
    """Greedy decoding the slow way: a full forward pass over the whole text at every step."""
    ids = list(prompt_ids)
    for _ in range(steps):
        logits = model({"token_ids": np.array([ids], "int32")}).numpy()[0, -1]
        logits[list(never_ids)] = -np.inf
        ids.append(int(np.argmax(logits)))
    return ids[len(prompt_ids):]


@pytest.mark.parametrize("model_name", ["gpt", "lstm"])
def test_cached_greedy_decoding_equals_full_passes(model_name, request):
    model = request.getfixturevalue(model_name)
    prompt = "ROMEO: But"
    details = generate(model, TOKENIZER, prompt, max_new_tokens=6, temperature=0,
                       return_details=True)
    never = {TOKENIZER.pad_id, TOKENIZER.unk_id, TOKENIZER.bos_id, TOKENIZER.mask_id}
    expected = full_pass_greedy(model, TOKENIZER.encode(prompt), 6, never)
    n = len(details.token_ids)  # fewer than 6 only if the end id came first
    assert list(details.token_ids) == expected[:n]
    assert details.finish_reason == ("length" if n == 6 else "eos")


@pytest.mark.parametrize("model_name", ["gpt", "lstm"])
def test_left_padded_batch_equals_each_prompt_alone(model_name, request):
    model = request.getfixturevalue(model_name)
    # The longest prompt and its new tokens fit the context: past it, the window slides for
    # the whole batch when its longest row needs it.
    prompts = ["R", "ROMEO: B", "what"]
    batched = generate(model, TOKENIZER, prompts, max_new_tokens=8, temperature=0,
                       return_details=True)
    for prompt, together in zip(prompts, batched):
        alone = generate(model, TOKENIZER, prompt, max_new_tokens=8, temperature=0,
                         return_details=True)
        assert together.token_ids == alone.token_ids
        np.testing.assert_allclose(together.log_probabilities, alone.log_probabilities, atol=1e-5)


def test_second_call_of_the_same_bucket_does_not_retrace():
    model = make_gpt(1)
    generate(model, TOKENIZER, ["ROMEO:", "But"], max_new_tokens=10, temperature=0.7, top_k=3,
             top_p=0.95, repetition_penalty=1.1, seed=1)
    traces = get_decoder(model).trace_count
    # Same batch size, prompt bucket and new-token bucket, the same controls switched on;
    # other prompts and other values.
    generate(model, TOKENIZER, ["what", "light"], max_new_tokens=12, temperature=1.3, top_k=5,
             top_p=0.9, repetition_penalty=1.3, seed=2)
    assert get_decoder(model).trace_count == traces
    generate(model, TOKENIZER, ["ROMEO:", "But"], max_new_tokens=10, temperature=0)
    greedy_traces = get_decoder(model).trace_count
    generate(model, TOKENIZER, ["soft", "window"], max_new_tokens=9, temperature=0)
    assert get_decoder(model).trace_count == greedy_traces


def test_sampling_is_seeded_and_num_return_sequences_differ(gpt):
    first = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=20, temperature=1.5, seed=3)
    assert first == generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=20, temperature=1.5, seed=3)
    samples = generate(gpt, TOKENIZER, ["ROMEO:", "But"], max_new_tokens=20, temperature=1.5,
                       seed=3, num_return_sequences=3)
    assert len(samples) == 6 and len(set(samples[:3])) > 1


def test_banned_words_never_appear(gpt):
    free = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=24, temperature=0)
    word = free[:2]  # what greedy decoding writes first
    banned = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=24, temperature=0,
                      banned_words=[word])
    assert word not in ":" + banned and banned != free
    letter = free[0]
    for seed in range(3):
        sampled = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=40, temperature=2.0,
                           banned_words=[letter, word], seed=seed)
        assert letter not in sampled


def test_stop_sequences_stop_and_are_left_out(gpt):
    free = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=24, temperature=0)
    stop = free[4:6]
    result = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=24, temperature=0, stop=[stop],
                      return_details=True)
    assert result.finish_reason == "stop"
    assert result.text == free[: free.index(stop)]
    # Before min_new_tokens a stop sequence does not end the row.
    longer = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=24, temperature=0, stop=[stop],
                      min_new_tokens=12, return_details=True)
    assert len(longer.text) + len(stop) >= 12 and free.startswith(longer.text)
    assert len(longer.text) > len(result.text)


def test_no_repeat_ngram_size(gpt):
    text = "ROMEO:" + generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=40, temperature=0,
                               no_repeat_ngram_size=2)
    bigrams = [text[i:i + 2] for i in range(len(text) - 1)]
    assert len(bigrams) == len(set(bigrams))


def test_streaming_reports_the_same_text_piece_by_piece(gpt):
    pieces = []
    result = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=15, temperature=0.9, seed=4,
                      stream=lambda row, text: pieces.append((row, text)))
    assert len(pieces) > 1 and {row for row, _ in pieces} == {0}
    assert "".join(text for _, text in pieces) == result


def test_streaming_never_prints_a_stop_sequence(gpt):
    free = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=24, temperature=0)
    stop = free[4:6]
    pieces = []
    result = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=24, temperature=0, stop=[stop],
                      stream=lambda row, text: pieces.append(text))
    assert "".join(pieces) == result and stop not in result


def test_long_generation_slides_past_the_context(gpt):
    result = generate(gpt, TOKENIZER, "ROMEO: But soft, what light", max_new_tokens=3 * CONTEXT,
                      temperature=1.0, seed=5, return_details=True)
    assert result.cropped_tokens == len("ROMEO: But soft, what light") - CONTEXT
    assert len(result.token_ids) == 3 * CONTEXT or result.finish_reason == "eos"


def test_special_ids_are_never_generated(gpt):
    result = generate(gpt, TOKENIZER, "ROMEO:", max_new_tokens=60, temperature=3.0, seed=6,
                      return_details=True)
    never = {TOKENIZER.pad_id, TOKENIZER.unk_id, TOKENIZER.bos_id, TOKENIZER.mask_id}
    assert not never & set(result.token_ids)


def test_unknown_characters_are_dropped_or_refused():
    ids, missing = encode_prompt(TOKENIZER, "ROMEO€:")
    assert missing == ["€"] and ids == TOKENIZER.encode("ROMEO:")
    with pytest.raises(GenerationError, match="not in the tokenizer's vocabulary"):
        encode_prompt(TOKENIZER, "ROMEO€:", unknown="error")


def test_empty_prompt_starts_from_bos(gpt):
    ids, _ = encode_prompt(TOKENIZER, "")
    assert ids == [TOKENIZER.bos_id]
    assert isinstance(generate(gpt, TOKENIZER, "", max_new_tokens=5, temperature=0), str)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"max_new_tokens": 0}, "max_new_tokens"), ({"temperature": -1.0}, "temperature"),
     ({"top_k": -1}, "top_k"), ({"top_p": 0.0}, "top_p"), ({"top_p": 1.5}, "top_p"),
     ({"repetition_penalty": 0.0}, "repetition_penalty"), ({"prompts": []}, "prompts"),
     ({"min_new_tokens": 9}, "min_new_tokens"), ({"banned_words": ["€"]}, "banned_words"),
     ({"stop": ["€uro"]}, "stop"), ({"stop": [""]}, "stop"),
     ({"num_beams": 2, "num_return_sequences": 3}, "num_return_sequences"),
     ({"num_beams": 2, "stream": print}, "stream")],
)
def test_invalid_arguments(gpt, kwargs, name):
    arguments = {"prompts": "ROMEO:", "max_new_tokens": 5, **kwargs}
    prompts = arguments.pop("prompts")
    with pytest.raises(GenerationError, match=name):
        generate(gpt, TOKENIZER, prompts, **arguments)


def test_tokenizer_that_does_not_match_the_model(gpt):
    other = CharTokenizer.from_texts(["xyz"])
    with pytest.raises(GenerationError, match="does not match the model"):
        generate(gpt, other, "x", max_new_tokens=2)
