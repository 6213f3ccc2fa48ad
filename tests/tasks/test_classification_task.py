"""The genre tasks: the smoke classifier presets train end to end on the plays' genre split and
report accuracy, macro F1, ECE and a confusion matrix; losses, class weights and model checks."""

import dataclasses

import numpy as np
import pytest

from tfllm.config import TrainConfig
from tfllm.data import genre_corpus, load_corpus
from tfllm.errors import ConfigError, CorpusError
from tfllm.models import GPT, BagOfWordsClassifier
from tfllm.objectives import MaskedCrossEntropy, MulticlassHinge
from tfllm.presets import get_preset
from tfllm.tasks import get_task
from tfllm.training import train


@pytest.mark.parametrize("preset", ["smoke-genre-bow", "smoke-genre-lstm"])
def test_the_smoke_presets_train_and_report_on_held_out_plays(preset, tmp_path):
    config = get_preset(preset)
    run = train(config, run_dir=tmp_path / "run", verbose=0, print_fn=lambda *_: None)
    report = run.metrics
    assert report["passages"] > 100
    assert 0 <= report["accuracy"] <= 1 and 0 <= report["ece"] <= 1
    assert 0 <= report["macro_f1"] <= 1 and report["classes"] == ["comedy", "tragedy"]
    confusion = np.array(report["confusion"])
    assert confusion.shape == (2, 2) and confusion.sum() == report["examples"]
    # The validation plays are the genre split's, not the language-model split's.
    assert {d.name for d in run.corpus.validation} >= {"a-midsummer-night-s-dream", "othello"}
    assert run.sample.startswith("O Romeo, Romeo! wherefore art thou Romeo? -> ")


def test_a_bag_of_words_model_learns_its_idf_before_training():
    task = get_task("comedy-tragedy")
    corpus = genre_corpus(load_corpus("shakespeare"))
    from tfllm.tokenizers import build_tokenizer

    tokenizer = build_tokenizer("word", [d.text for d in corpus.train[:2]])
    model = BagOfWordsClassifier(vocabulary_size=tokenizer.vocabulary_size, sequence_length=16,
                                 num_classes=2)
    task.prepare_model(model, corpus, tokenizer, 16)
    idf = np.asarray(model.idf)
    assert idf.min() >= 1.0 and idf.max() > 1.0  # ones until adapted


def test_losses_class_weights_and_model_checks():
    task = get_task("genre")
    assert task.num_classes == 6
    assert isinstance(task.training_loss(TrainConfig(loss="hinge")), MulticlassHinge)
    assert isinstance(task.training_loss(TrainConfig(label_smoothing=0.1)), MaskedCrossEntropy)
    with pytest.raises(ConfigError, match="smooths the cross-entropy's target"):
        TrainConfig(loss="hinge", label_smoothing=0.1)
    with pytest.raises(ConfigError, match="set model.num_classes=6"):
        task.check_model(BagOfWordsClassifier(vocabulary_size=8, sequence_length=4,
                                              num_classes=2))
    with pytest.raises(ConfigError, match="SequenceClassifier"):
        task.check_model(GPT(vocabulary_size=8, sequence_length=4, num_layers=1, num_heads=1,
                             hidden_dim=4, intermediate_dim=8))
    with pytest.raises(CorpusError, match="needs the bundled plays"):
        task.corpus(dataclasses.replace(load_corpus("shakespeare"), train=[]))
