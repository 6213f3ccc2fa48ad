"""Generation speed: tfllm's cached decoder against keras-hub's GPT2CausalLM, in one run.

Both models have the baby shape (4 layers, 4 heads, width 128, FFN 512, 512 positions, the
character vocabulary of the bundled plays) and random weights: speed does not depend on what
the weights say, and every run generates exactly the requested number of tokens (tfllm with
`min_new_tokens`, keras-hub with no stop token). Both decode with a fixed-shape KV cache in a
`tf.while_loop` compiled with XLA, from the same 6-token prompt.

It prints, for batch 1 and 8 and 256 new tokens, new tokens/s for each (median of `--repeats`
timed calls after one warm-up call that compiles), and the ratio; greedy and nucleus sampling
(top-p 0.9, temperature 0.8). Then time per new token when generating 64, 256 and 1024 tokens
at batch 1 (models with 1088 positions): flat when each step costs the same, as a cache makes
it. Contenders take turns, call by call, so a slow spell of this noisy machine hits both.

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
PROMPT = "ROMEO:"


def build_pair(vocabulary_size, positions):
    keras.utils.set_random_seed(0)
    ours = GPT(vocabulary_size=vocabulary_size, sequence_length=positions, **BABY)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=vocabulary_size, max_sequence_length=positions, dropout=0.0, **BABY
    )
    theirs = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    return ours, theirs


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

    ours, theirs = build_pair(vocabulary_size, 512)
    print(f"\n{'sampler':<8} {'batch':>5} {'tfllm tok/s':>12} {'keras-hub tok/s':>16} {'ratio':>6}")
    for sampling in (False, True):
        for batch_size in (1, 8):
            seconds = race({
                "tfllm": tfllm_runner(ours, tokenizer, batch_size, 256, sampling),
                "keras_hub": keras_hub_runner(theirs, tokenizer, batch_size, 256, sampling),
            }, args.repeats)
            rates = {name: batch_size * 256 / s for name, s in seconds.items()}
            ratio = rates["tfllm"] / rates["keras_hub"]
            sampler = "top-p" if sampling else "greedy"
            print(f"{sampler:<8} {batch_size:>5} {rates['tfllm']:>12,.0f} "
                  f"{rates['keras_hub']:>16,.0f} {ratio:>5.2f}x")
            report["throughput"].append({"sampler": sampler, "batch_size": batch_size,
                                         **{f"{k}_tokens_per_second": v for k, v in rates.items()},
                                         "ratio": ratio})

    ours, theirs = build_pair(vocabulary_size, 1088)
    print(f"\n{'new tokens':>10} {'tfllm ms/token':>15} {'keras-hub ms/token':>19}")
    for new_tokens in (64, 256, 1024):
        seconds = race({
            "tfllm": tfllm_runner(ours, tokenizer, 1, new_tokens, False),
            "keras_hub": keras_hub_runner(theirs, tokenizer, 1, new_tokens, False),
        }, args.repeats)
        per_token = {name: 1000 * s / new_tokens for name, s in seconds.items()}
        print(f"{new_tokens:>10} {per_token['tfllm']:>15.3f} {per_token['keras_hub']:>19.3f}")
        report["per_token"].append({"new_tokens": new_tokens,
                                    **{f"{k}_ms_per_token": v for k, v in per_token.items()}})
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
