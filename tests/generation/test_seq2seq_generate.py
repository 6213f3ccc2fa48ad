"""`generate` with an encoder-decoder model: the sources go to the encoder once, the compiled
decoder writes the target from the start id; greedy decoding equals a loop of full passes,
beam width 1 equals greedy, padding a batch changes no row, and bad sources are refused."""

import numpy as np
import pytest

from tfllm.errors import GenerationError
from tfllm.generation import generate
from tfllm.models import EncoderDecoderTransformer, GRUSeq2Seq
from tfllm.tokenizers import build_tokenizer

TOKENIZER = build_tokenizer("char", ["to be or not to be, That is the question!"])
V = TOKENIZER.vocabulary_size
MODELS = {
    "transformer": lambda: EncoderDecoderTransformer(
        vocabulary_size=V, source_length=16, target_length=10, num_encoder_layers=1,
        num_decoder_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, dropout=0.0),
    "gru": lambda: GRUSeq2Seq(vocabulary_size=V, source_length=16, target_length=10,
                              embedding_dim=8, hidden_dim=16),
}
SOURCES = ["to be", "or not to be", "question"]


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request):
    import keras

    keras.utils.set_random_seed(7)
    return MODELS[request.param]()


def _greedy_by_full_passes(model, source, steps):
    """Reference: re-run the whole model on the growing target and take the argmax."""
    source_ids = TOKENIZER.encode(source)
    target = [TOKENIZER.bos_id]
    never = {TOKENIZER.pad_id, TOKENIZER.unk_id, TOKENIZER.bos_id, TOKENIZER.mask_id}
    for _ in range(steps):
        logits = np.array(model({
            "encoder_token_ids": np.array([source_ids], "int32"),
            "encoder_padding_mask": np.ones((1, len(source_ids)), bool),
            "token_ids": np.array([target], "int32"),
            "padding_mask": np.ones((1, len(target)), bool)}))[0, -1]
        logits[list(never)] = -np.inf
        token = int(np.argmax(logits))
        if token == TOKENIZER.eos_id:
            break
        target.append(token)
    return TOKENIZER.decode(target[1:])


def test_greedy_decoding_of_a_batch_equals_a_loop_of_full_passes_on_each_source(model):
    # The sources differ in length, so two rows are padded in the batch and the reference sees
    # each one alone, unpadded: equal outputs also mean padding a batch changes no row.
    outputs = generate(model, TOKENIZER, SOURCES, temperature=0.0, jit_compile=False)
    for source, output in zip(SOURCES, outputs):
        assert output == _greedy_by_full_passes(model, source, model.target_length - 1)


def test_beam_width_one_equals_greedy_and_beams_rank_their_outputs(model):
    greedy = generate(model, TOKENIZER, SOURCES, temperature=0.0, jit_compile=False)
    assert generate(model, TOKENIZER, SOURCES, num_beams=1, temperature=0.0,
                    jit_compile=False) == greedy
    beams = generate(model, TOKENIZER, SOURCES[:2], num_beams=3, num_return_sequences=3,
                     return_details=True, jit_compile=False)
    assert len(beams) == 6
    for row in (beams[:3], beams[3:]):
        scores = [b.score for b in row]
        assert scores == sorted(scores, reverse=True)


def test_the_output_stops_within_the_target_length(model):
    details = generate(model, TOKENIZER, SOURCES, temperature=1.0, seed=3, return_details=True,
                       jit_compile=False)
    assert all(len(d.token_ids) <= model.target_length - 1 for d in details)
    short = generate(model, TOKENIZER, "to be", max_new_tokens=2, temperature=0.0,
                     return_details=True, jit_compile=False)
    assert len(short.token_ids) <= 2


@pytest.mark.parametrize("sources, options, message", [
    ("", {}, "Input 1 is empty"),
    (["to be", "x y z"], {}, "Input 2 is empty"),  # nothing the tokenizer knows
    ("to be " * 4, {}, "Input 1 has 24 tokens; this model reads at most 16"),
    ("to be", {"max_new_tokens": 10}, "max_new_tokens=10 is more than this encoder-decoder "
                                      "model can write: 9 tokens"),
])
def test_bad_sources_are_refused_with_the_reason(sources, options, message):
    # Checked before decoding, the same for every model: one suffices.
    model = MODELS["gru"]()
    with pytest.raises(GenerationError, match=message):
        generate(model, TOKENIZER, sources, jit_compile=False, **options)
