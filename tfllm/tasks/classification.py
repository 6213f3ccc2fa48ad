"""`Classification`: one label per passage; the genre tasks of the plays.

Data: the plays re-split by genre (`tfllm.data.genre_corpus`: one validation and one test play
per genre, split by play), cut into passages of spoken lines (`tfllm.data.genre_passages`), each
`[bos] + ids + [eos]` (`tfllm.data.passage_dataset`). Two tasks:

- "comedy-tragedy": comedies (0) against tragedies (1);
- "genre": the six genres of the plays (comedies, histories, problems, roman, romances,
  tragedies).

Loss: cross-entropy (`train.loss=cross_entropy`, label smoothing from
`train.label_smoothing`), or the multiclass hinge of a linear SVM (`train.loss=hinge`).
`train.class_weights=balanced` weights each training passage by its class's balanced weight
(`tfllm.data.balanced_class_weights`). Metrics: accuracy, the mean negative log-likelihood and
the expected calibration error; after training, `decoded_report` predicts every held-out
passage and adds macro F1, an F1 per class and the confusion matrix.

Example:

>>> from tfllm.tasks import get_task
>>> task = get_task("comedy-tragedy")
>>> task.class_names, task.input_kind
(('comedy', 'tragedy'), 'text')
"""

import numpy as np

from tfllm.data import (balanced_class_weights, genre_corpus, genre_passages, passage_dataset,
                        passage_ids)
from tfllm.errors import ConfigError
from tfllm.models import SequenceClassifier
from tfllm.objectives import (
    ExpectedCalibrationError,
    MaskedAccuracy,
    MaskedCrossEntropy,
    MulticlassHinge,
    Perplexity,
    classification_report,
)
from tfllm.tasks.task import Task, task_data, weighted_report

_PREDICT_BATCH = 64


class Classification(Task):
    """Predict the label of a passage (see the module docstring); subclasses name the labels."""

    input_kind = "text"
    genre_task = None  # "binary" or "genre": which labels `tfllm.data.genre_passages` gives
    class_names = ()
    max_characters = 400

    @property
    def num_classes(self):
        return len(self.class_names)

    def corpus(self, corpus):
        return genre_corpus(corpus)

    def check_model(self, model):
        if not isinstance(model, SequenceClassifier):
            raise ConfigError(
                f"task {self.name} trains a tfllm.models.SequenceClassifier (BertClassifier, "
                f"LSTMClassifier, BagOfWordsClassifier). Received: model.class_name="
                f"{type(model).__name__!r}"
            )
        if model.num_classes != self.num_classes:
            raise ConfigError(
                f"task {self.name} has {self.num_classes} classes ({', '.join(self.class_names)}): "
                f"set model.num_classes={self.num_classes}. Received: model.num_classes="
                f"{model.num_classes}"
            )

    def lengths(self, model_arguments):
        """The longest input the model reads, `sequence_length`."""
        value = model_arguments.get("sequence_length")
        if not isinstance(value, int) or isinstance(value, bool) or value < 3:
            raise ConfigError(
                f"task {self.name} needs the model's input length, an integer >= 3 (start id, "
                f"text, end id): set model.sequence_length. Received: model.sequence_length="
                f"{value!r}"
            )
        return value

    def passages(self, documents):
        """The labelled passages of `documents` (plays with their genre as label)."""
        passages = genre_passages(documents, task=self.genre_task,
                                  max_characters=self.max_characters)
        if not passages:
            names = ", ".join(d.name for d in documents[:3])
            raise ConfigError(f"task {self.name} found no passage of its classes in {names}. "
                              f"Received: {len(documents)} document(s)")
        return passages

    def prepare_data(self, corpus, tokenizer, lengths, data_config, train_config, *,
                     micro_batch_size, seed):
        train_passages = self.passages(corpus.documents("train"))
        class_weights = (balanced_class_weights(train_passages, self.num_classes)
                         if train_config.class_weights == "balanced" else None)
        train = passage_dataset(train_passages, tokenizer, sequence_length=lengths,
                                batch_size=micro_batch_size, class_weights=class_weights,
                                shuffle=True, seed=seed, repeat=True)
        validation, characters_per_token = self.evaluation_data(
            corpus.documents("validation"), tokenizer, lengths, train_config.batch_size)
        return task_data(train, validation, eval_batches=train_config.eval_batches,
                         characters_per_token=characters_per_token, tokens_per_example=lengths)

    def prepare_model(self, model, corpus, tokenizer, lengths):
        """Runs the model's `adapt` (Keras' convention for statistics of the training data, such
        as `BagOfWordsClassifier`'s idf) over one pass of the training passages."""
        if callable(getattr(model, "adapt", None)):
            passages = self.passages(corpus.documents("train"))
            model.adapt(passage_dataset(passages, tokenizer, sequence_length=lengths,
                                        batch_size=_PREDICT_BATCH * 4))

    def evaluation_data(self, documents, tokenizer, lengths, batch_size):
        """`(dataset, characters_per_token)` over every passage of the documents once."""
        passages = self.passages(documents)
        dataset = passage_dataset(passages, tokenizer, sequence_length=lengths,
                                  batch_size=batch_size)
        texts = [p.text for p in passages]
        tokens = sum(len(ids) for ids in tokenizer.tokenize(texts).to_list())
        return dataset, sum(len(t) for t in texts) / max(tokens, 1)

    def loss(self, label_smoothing=0.0):
        return MaskedCrossEntropy(label_smoothing=label_smoothing)

    def training_loss(self, train_config, tokenizer=None):
        """Cross-entropy (with `train.label_smoothing`) or, for `train.loss=hinge`, the
        multiclass hinge; `train.class_weights` reaches the loss through the sample weights."""
        if train_config.loss == "hinge":
            return MulticlassHinge()
        if train_config.loss != "cross_entropy" or train_config.unlikelihood or (
                train_config.penalty_weight):
            raise ConfigError(
                f"task {self.name} trains with train.loss=cross_entropy or hinge and no "
                f"penalties. Received: train.loss={train_config.loss!r}, train.unlikelihood="
                f"{train_config.unlikelihood}, train.penalty_weight="
                f"{train_config.penalty_weight}")
        return self.loss(label_smoothing=train_config.label_smoothing)

    def metrics(self, characters_per_token):
        # `Perplexity` keeps the exact weighted mean negative log-likelihood per passage.
        return [MaskedAccuracy(), Perplexity(), ExpectedCalibrationError()]

    def summarize(self, metrics):
        """Loss (mean nats per passage), accuracy, ECE and the passages scored."""
        report = weighted_report(metrics, "passages")
        del report["perplexity"]  # of one label per passage, it says nothing the loss does not
        ece = next(metric for metric in metrics if metric.name == "ece")
        return {**report, "ece": float(ece.result().numpy())}

    def describe(self, summary):
        text = (f"loss {summary['loss']:.4f} nats/passage, accuracy {summary['accuracy']:.4f}, "
                f"ECE {summary['ece']:.4f}")
        if "macro_f1" in summary:
            text += f", macro F1 {summary['macro_f1']:.4f}"
        return text

    def probabilities(self, model, tokenizer, texts):
        """(N, C) class probabilities of `texts`, in batches."""
        lengths = self.lengths(model.get_config())
        token_ids, padding_mask = passage_ids(texts, tokenizer, lengths)
        logits = [np.asarray(model({"token_ids": token_ids[i:i + _PREDICT_BATCH],
                                    "padding_mask": padding_mask[i:i + _PREDICT_BATCH]},
                                   training=False))
                  for i in range(0, len(texts), _PREDICT_BATCH)]
        logits = np.concatenate(logits).astype("float64")
        exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return exp / exp.sum(axis=-1, keepdims=True)

    def decoded_report(self, model, tokenizer, documents, *, num_beams=1, limit=None):
        """Accuracy, macro F1, an F1 per class, ECE and the confusion matrix of the model's
        predictions for every passage of `documents` (the first `limit` when given)."""
        passages = self.passages(documents)[:limit]
        probabilities = self.probabilities(model, tokenizer, [p.text for p in passages])
        report = classification_report(probabilities, np.array([p.label for p in passages]),
                                        list(self.class_names))
        report["classes"] = list(self.class_names)
        return report

    def sample(self, model, tokenizer, train_config):
        if train_config.sample_length <= 0:
            return None
        text = train_config.sample_prompt
        probabilities = self.probabilities(model, tokenizer, [text])[0]
        best = int(np.argmax(probabilities))
        return f"{text} -> {self.class_names[best]} ({probabilities[best]:.2f})"


class ComedyTragedy(Classification):
    """Comedy or tragedy: passages of the comedies against passages of the tragedies."""

    name = "comedy-tragedy"
    genre_task = "binary"
    class_names = ("comedy", "tragedy")


class Genre(Classification):
    """The genre of a passage's play, one of six."""

    name = "genre"
    genre_task = "genre"
    class_names = ("comedies", "histories", "problems", "roman", "romances", "tragedies")
