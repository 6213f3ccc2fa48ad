"""Pre-training, fine-tuning and classifying through the real `tfllm` command: a tiny masked LM
is pre-trained, fine-tuned in its two phases (the frozen phase leaves the encoder exactly as
pre-trained), classifies texts and is evaluated; one-line errors for what cannot be done."""

import json

import numpy as np
import pytest
from cli_process import assert_one_line_error, run_cli_cases


@pytest.mark.multiprocess  # one process, several commands
def test_pretrain_finetune_classify_evaluate_and_refusals(tmp_path, corpus):
    pretrained, tuned = tmp_path / "mlm", tmp_path / "mlm-comedy-tragedy"
    romeo = "O Romeo, Romeo! wherefore art thou Romeo?"
    results = run_cli_cases({
        # Pre-training on 60,000 characters of Hamlet (a user's corpus) keeps it to seconds.
        "pretrain": ["train", "--preset", "smoke-mlm", "--quiet", "--corpus", corpus,
                     "--run-dir", tmp_path / "run", "--output", pretrained],
        "finetune": ["finetune", "--from", pretrained, "--task", "comedy-tragedy", "--quiet",
                     "--preset", "smoke-finetune", "--run-dir", tmp_path / "ft",
                     "--output", tuned],
        "classify": ["classify", "--model", tuned, "--text", romeo, "--text", "Good my lord",
                     "--json"],
        "evaluate": ["evaluate", "--model", tuned, "--json"],
        "not an encoder": ["finetune", "--from", tuned, "--task", "genre"],
        "unknown task": ["finetune", "--from", pretrained, "--task", "sentiment"],
        "not a classifier": ["classify", "--model", pretrained, "--text", romeo],
        "empty": ["classify", "--model", tuned, "--text", " "],
        "recipe to train": ["train", "--preset", "finetune"],
    })
    for name in ("pretrain", "finetune", "classify", "evaluate"):
        assert results[name].code == 0, (name, results[name].stderr)
    assert "Phase 1 of 2" in results["finetune"].stdout
    outputs = [json.loads(line) for line in results["classify"].stdout.splitlines()]
    assert [o["text"] for o in outputs] == [romeo, "Good my lord"]
    assert all(o["label"] in ("comedy", "tragedy") for o in outputs)
    assert all(abs(sum(o["probabilities"].values()) - 1) < 1e-4 for o in outputs)
    evaluation = json.loads(results["evaluate"].stdout)
    assert evaluation["passages"] > 0 and 0 <= evaluation["macro_f1"] <= 1
    assert_one_line_error(results["not an encoder"], "starts from a pre-trained BertMaskedLM",
                          "holds a BertClassifier")
    assert_one_line_error(results["unknown task"], "Valid tasks: comedy-tragedy, genre")
    assert_one_line_error(results["not a classifier"], "is not a classifier")
    assert_one_line_error(results["empty"], "Text 1 is empty")
    assert_one_line_error(results["recipe to train"], "is a fine-tuning recipe", "tfllm finetune")

    # Freezing: the frozen phase trained the head only, so its encoder is the pre-trained one.
    from tfllm.export import load_model_dir

    before = load_model_dir(pretrained).model.encoder.get_weights()
    after = load_model_dir(tmp_path / "ft" / "frozen-model").model.encoder.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    final = load_model_dir(tuned).model.encoder.get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(before, final))
