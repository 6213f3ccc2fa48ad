"""`generate` with GPT's decoder options: greedy decoding equals an argmax of full passes,
within the context and past it, where the window slides. (GQA's smaller cache:
tests/models/test_gpt_options.py.)"""

import keras
import numpy as np
import pytest

from tfllm.generation import generate
from tfllm.models import GPT
from tfllm.tokenizers import CharTokenizer

TOKENIZER = CharTokenizer.from_texts(["ROMEO: But soft, what light through yonder window breaks?"])
NEVER = {TOKENIZER.pad_id, TOKENIZER.unk_id, TOKENIZER.bos_id, TOKENIZER.mask_id}
OPTIONS = {
    "rope": {"position_encoding": "rope"},
    "gqa": {"num_key_value_heads": 1},
    "qk_norm": {"qk_norm": True},
    "all": {"position_encoding": "rope", "normalization": "rms_norm", "feed_forward": "swiglu",
            "num_key_value_heads": 1, "qk_norm": True, "residual_init": "unscaled"},
}


def make_gpt(context, **options):
    """A small GPT with `options` over GPT-2's layout (`GPT.original_options`)."""
    keras.utils.set_random_seed(0)
    return GPT(**{**GPT.original_options, **options}, vocabulary_size=TOKENIZER.vocabulary_size,
               sequence_length=context, num_layers=2, num_heads=2, hidden_dim=16,
               intermediate_dim=32)


def full_pass_greedy(model, prompt_ids, steps, window=None):
    """Greedy decoding the slow way: a full pass at every step over the text since the start
    of the decoder's window. Past `window` tokens the window keeps its last `window // 2`,
    which the model reads again from position 0 (`CachedDecoder.advance`)."""
    ids, start = list(prompt_ids), 0
    for _ in range(steps):
        logits = model({"token_ids": np.array([ids[start:]], "int32")}).numpy()[0, -1]
        logits[list(NEVER)] = -np.inf
        ids.append(int(np.argmax(logits)))
        if window is not None and len(ids) - 1 - start >= window:
            start = len(ids) - window // 2
    return ids[len(prompt_ids):]


def assert_greedy_equals_full_passes(model, prompt, steps, window=None, jit_compile=False):
    details = generate(model, TOKENIZER, prompt, max_new_tokens=steps, temperature=0,
                       return_details=True, jit_compile=jit_compile)
    expected = full_pass_greedy(model, TOKENIZER.encode(prompt), steps, window)
    n = len(details.token_ids)  # fewer than `steps` only if the end id came first
    assert list(details.token_ids) == expected[:n]
    assert n == steps or expected[n] == TOKENIZER.eos_id


# RMSNorm, SwiGLU and the residual init leave the cache and the positions alone: they are
# decoded here together with the others ("all"), and alone in tests/models/test_gpt_options.py.
@pytest.mark.parametrize("name", ["rope", "gqa", "qk_norm", "all"])
def test_cached_greedy_decoding_equals_full_passes(name):
    # XLA (generate's default for GPT) once, to keep the tests short.
    assert_greedy_equals_full_passes(make_gpt(16, **OPTIONS[name]), "ROMEO: But", 5,
                                     jit_compile=name == "all")


# An untied head makes the logits depend on the context more than a tied one at this size,
# which is how a bug showed: a prompt bucket's padding filled the bounded cache, and the window
# slid (dropping context) before the real tokens needed it to.
def test_untied_cached_greedy_decoding_equals_full_passes():
    assert_greedy_equals_full_passes(make_gpt(16, tie_embeddings=False), "ROMEO: But", 5)


@pytest.mark.parametrize("name", ["rope", "all"])
def test_greedy_decoding_past_the_context_equals_full_passes_over_the_window(name):
    model = make_gpt(8, **OPTIONS[name])
    # An 8-token prompt fills the context, so the window slides at once and then every 4.
    assert_greedy_equals_full_passes(model, "ROMEO: B", 12, window=8)
