"""Generation speed: tfllm's cached decoder against keras-hub's GPT2CausalLM, in one run.

The models have the baby shape (4 layers, 4 heads, width 128, FFN 512, 512 positions, the
character vocabulary of the bundled plays) and random weights: speed does not depend on what
the weights say. tfllm runs twice: in GPT-2's layout (`GPT.original_options`), the same network
as keras-hub's, and with GPT's default options (rotary positions, SwiGLU at 344 per half,
QK-norm, untied: the `shakespeare-char` preset's), the model a user gets. Every run generates
exactly the requested number of tokens (tfllm with `min_new_tokens`, keras-hub with no stop
token). All decode with a fixed-shape KV cache in a `tf.while_loop` compiled with XLA, from the
same 6-token prompt.

It prints, for batch 1 and 8 and 256 new tokens, new tokens/s for each (median of `--repeats`
timed calls after one warm-up call that compiles) and tfllm's ratios to keras-hub, greedy and
nucleus sampling (top-p 0.9, temperature 0.8). Then time per new token when generating 64, 256
and 1024 tokens at batch 1 (models with 1088 positions): flat when each step costs the same, as a
cache makes it. Contenders take turns, call by call, so a slow spell of this noisy machine hits
all of them.

    python benchmarks/generate.py
    python benchmarks/generate.py --repeats 9 --json

keras-hub is a dev-only dependency (`pip install -e .[dev]`); tfllm itself never imports it.
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402

from tfllm.data import load_corpus  # noqa: E402
from tfllm.generation import generate  # noqa: E402
from tfllm.models import GPT  # noqa: E402
from tfllm.tokenizers import CharTokenizer  # noqa: E402

BABY = {"num_layers": 4, "num_heads": 4, "hidden_dim": 128, "intermediate_dim": 512}
# GPT's defaults at the baby size: SwiGLU halves 2/3 as wide, about as many weights as GELU's.
DEFAULTS = {**BABY, "intermediate_dim": 344}
CONTENDERS = ("tfllm_gpt2", "tfllm_defaults", "keras_hub")
PROMPT = "ROMEO:"


def build_models(vocabulary_size, positions):
    """{contender: model}: tfllm in GPT-2's layout, tfllm's defaults, keras-hub's GPT2CausalLM."""
    keras.utils.set_random_seed(0)
    gpt2 = GPT(vocabulary_size=vocabulary_size, sequence_length=positions,
               **GPT.original_options, **BABY)
    defaults = GPT(vocabulary_size=vocabulary_size, sequence_length=positions, **DEFAULTS)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=vocabulary_size, max_sequence_length=positions, dropout=0.0, **BABY
    )
    theirs = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    return dict(zip(CONTENDERS, (gpt2, defaults, theirs)))


def runners(models, tokenizer, batch_size, new_tokens, sampling):
    return {name: (keras_hub_runner if name == "keras_hub" else tfllm_runner)(
        model, tokenizer, batch_size, new_tokens, sampling) for name, model in models.items()}


def tfllm_runner(model, tokenizer, batch_size, new_tokens, sampling):
    prompts = [PROMPT] * batch_size
    options = {"temperature": 0.8, "top_p": 0.9, "seed": 1} if sampling else {"temperature": 0.0}

    def run():
        texts = generate(model, tokenizer, prompts, max_new_tokens=new_tokens,
                         min_new_tokens=new_tokens, return_details=True, **options)
        assert all(len(t.token_ids) == new_tokens for t in texts)

    return run


def keras_hub_runner(causal_lm, tokenizer, batch_size, new_tokens, sampling):
    prompt_ids = tokenizer.encode(PROMPT)
    length = len(prompt_ids) + new_tokens
    token_ids = np.zeros((batch_size, length), "int32")
    token_ids[:, : len(prompt_ids)] = prompt_ids
    padding_mask = np.zeros((batch_size, length), bool)
    padding_mask[:, : len(prompt_ids)] = True
    sampler = (keras_hub.samplers.TopPSampler(p=0.9, temperature=0.8, seed=1) if sampling
               else keras_hub.samplers.GreedySampler())
    # "auto" would mean no XLA on a CPU; the reference figures are keras-hub with XLA.
    causal_lm.compile(sampler=sampler, jit_compile=True)
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}

    def run():
        output = causal_lm.generate(inputs, stop_token_ids=None)
        assert output["token_ids"].shape == (batch_size, length)

    return run


def race(runners, repeats):
    """Median seconds per call of each runner; one untimed warm-up call each compiles."""
    for run in runners.values():
        run()
    times = {name: [] for name in runners}
    names = list(runners)
    for repeat in range(repeats):
        order = names if repeat % 2 == 0 else names[::-1]
        for name in order:
            start = time.perf_counter()
            runners[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args()

    corpus = load_corpus("shakespeare")
    tokenizer = CharTokenizer.from_texts([doc.text for doc in corpus.train])
    vocabulary_size = tokenizer.vocabulary_size
    print(f"baby GPT: {BABY}, vocabulary {vocabulary_size}, prompt {PROMPT!r}, "
          f"median of {args.repeats} calls")
    report = {"throughput": [], "per_token": []}

    models = build_models(vocabulary_size, 512)
    print(f"\n{'sampler':<8} {'batch':>5} {'GPT-2 tok/s':>12} {'defaults tok/s':>15} "
          f"{'keras-hub tok/s':>16} {'ratios':>13}")
    for sampling in (False, True):
        for batch_size in (1, 8):
            seconds = race(runners(models, tokenizer, batch_size, 256, sampling), args.repeats)
            rates = {name: batch_size * 256 / s for name, s in seconds.items()}
            ratios = {name: rates[name] / rates["keras_hub"] for name in CONTENDERS[:2]}
            sampler = "top-p" if sampling else "greedy"
            print(f"{sampler:<8} {batch_size:>5} {rates['tfllm_gpt2']:>12,.0f} "
                  f"{rates['tfllm_defaults']:>15,.0f} {rates['keras_hub']:>16,.0f} "
                  f"{ratios['tfllm_gpt2']:>5.2f}x {ratios['tfllm_defaults']:>5.2f}x")
            report["throughput"].append({"sampler": sampler, "batch_size": batch_size,
                                         **{f"{k}_tokens_per_second": v for k, v in rates.items()},
                                         **{f"{k}_ratio": v for k, v in ratios.items()}})

    models = build_models(vocabulary_size, 1088)
    print(f"\n{'new tokens':>10} {'GPT-2 ms/token':>15} {'defaults ms/token':>18} "
          f"{'keras-hub ms/token':>19}")
    for new_tokens in (64, 256, 1024):
        seconds = race(runners(models, tokenizer, 1, new_tokens, False), args.repeats)
        per_token = {name: 1000 * s / new_tokens for name, s in seconds.items()}
        print(f"{new_tokens:>10} {per_token['tfllm_gpt2']:>15.3f} "
              f"{per_token['tfllm_defaults']:>18.3f} {per_token['keras_hub']:>19.3f}")
        report["per_token"].append({"new_tokens": new_tokens,
                                    **{f"{k}_ms_per_token": v for k, v in per_token.items()}})
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
