"""`Task`: what differs between a causal LM, a masked LM, a seq2seq model and a classifier.

A model maps inputs to outputs and knows nothing of how it is trained. A task owns the rest:

- `check_model(model)`: whether a model can do this task (a clear error if not);
- `prepare_data(corpus, tokenizer, sequence_length, data_config, train_config)`: the training,
  validation and evaluation pipelines, as `(x, labels, sample_weight)` batches, in a `TaskData`;
- `loss()` and `metrics(data)`: the default loss and the *weighted* metrics to compile;
  `training_loss(train_config, tokenizer)`: the loss training compiles (label smoothing, a
  hinge, a language model's objective with its penalties);
- `prepare_model(model, ...)`: what a new model learns from the training data before fitting;
- `corpus(corpus)`: the corpus the task uses, given the loaded one (the genre tasks re-split
  the plays by genre);
- `summarize(metrics)`: the evaluation report, a dict of floats read from the metrics' exact
  token-weighted state (Keras's own `loss` is a mean of batch means weighted by rows);
- `evaluation_data(documents, ...)`: a pipeline over documents the model never saw, for
  `tfllm evaluate`; `decoded_report(...)`: scores of what the model writes for them;
- `sample(model, tokenizer, train_config)`: what the model produces for a fixed prompt, shown
  during training (`generate` for a causal LM; None where a task has nothing to show).

Training, evaluation, export and the CLI ask the task and never branch on a model family.
Tasks register by name (`tfllm.tasks.get_task`); a `RunConfig` names its task in `task`.
"""

import dataclasses
import math

from tfllm.errors import ConfigError


@dataclasses.dataclass
class TaskData:
    """The pipelines of one run, built by `Task.prepare_data`.

    Attributes:
        train: an endless `tf.data.Dataset` of training micro-batches.
        validation: the whole validation split, every weighted position once.
        validation_sample: about `train.eval_batches` batches spread over it (the intermediate
            validation passes).
        characters_per_token: characters of validation text per token, for bits per character.
        tokens_per_example: positions per training example (the context length), for throughput.
    """

    train: object
    validation: object
    validation_sample: object
    characters_per_token: float
    tokens_per_example: int


class Task:
    """Base class of the task kinds; see the module docstring for the contract."""

    name = None
    # What `tfllm generate` gives the model: a "prompt" to continue, or an "input" to transform.
    input_kind = "prompt"

    def check_model(self, model):
        raise NotImplementedError

    def lengths(self, model_arguments):
        """What `prepare_data` and `evaluation_data` get as `lengths`, read from the model's
        constructor arguments (a dict): the context length of a causal LM, the source and
        target lengths of a seq2seq model. A `ConfigError` when the model has none."""
        raise NotImplementedError

    def prepare_data(self, corpus, tokenizer, lengths, data_config, train_config, *,
                     micro_batch_size, seed):
        raise NotImplementedError

    def evaluation_data(self, documents, tokenizer, lengths, batch_size):
        raise NotImplementedError

    def loss(self, label_smoothing=0.0):
        """The training loss; `label_smoothing` eps mixes the target with the uniform
        distribution (`train.label_smoothing`; evaluation uses 0)."""
        raise NotImplementedError

    def training_loss(self, train_config, tokenizer=None):
        """The loss `train` compiles: `loss` with `train.label_smoothing`. The other objectives
        of `train` (another `train.loss`, class weights, penalties) belong to the tasks that
        override this; here they are refused. `tokenizer` maps words named in the config to
        ids."""
        for name, default in (("loss", "cross_entropy"), ("class_weights", "none"),
                              ("unlikelihood", 0.0), ("penalty_weight", 0.0)):
            if getattr(train_config, name) != default:
                raise ConfigError(
                    f"task {self.name} trains with train.{name}={default} only. Received: "
                    f"train.{name}={getattr(train_config, name)!r}"
                )
        return self.loss(label_smoothing=train_config.label_smoothing)

    def prepare_model(self, model, corpus, tokenizer, lengths):
        """Sets what a freshly built model learns from the training data before fitting
        (nothing by default; a classifier's `adapt`, e.g. the idf of bag-of-words features)."""

    def corpus(self, corpus):
        """The corpus this task trains and evaluates on, given the loaded one: itself, or a
        re-split of it (the genre tasks split the plays their own way)."""
        return corpus

    def metrics(self, characters_per_token):
        raise NotImplementedError

    def summarize(self, metrics):
        raise NotImplementedError

    def describe(self, summary):
        """One line for people: the figures of `summary` with their units."""
        return ", ".join(f"{key} {value:.4f}" if isinstance(value, float) else f"{key} {value}"
                         for key, value in summary.items())

    def sample(self, model, tokenizer, train_config):
        return None

    def decoded_report(self, model, tokenizer, documents, *, num_beams=1, limit=None):
        """Scores of the model's decoded outputs on `documents` (BLEU for seq2seq); {} where a
        task's teacher-forced metrics say it all."""
        return {}


def task_data(train, validation, *, eval_batches, characters_per_token, tokens_per_example):
    """A `TaskData` whose `validation_sample` is every k-th batch of `validation` (about
    `eval_batches` of them), so the intermediate passes sample the whole split rather than its
    first document."""
    stride = max(1, -(-int(validation.cardinality()) // eval_batches))
    return TaskData(train=train, validation=validation,
                    validation_sample=validation.shard(num_shards=stride, index=0),
                    characters_per_token=characters_per_token,
                    tokens_per_example=tokens_per_example)


def weighted_report(metrics, unit):
    """`{"loss", "perplexity", "accuracy", unit}` from the exact weighted sums of a `Perplexity`
    and a `MaskedAccuracy` named "perplexity" and "accuracy" among `metrics`: the mean
    negative log-likelihood per weighted item and the items' total weight (`unit`: "tokens",
    "passages")."""
    by_name = {metric.name: metric for metric in metrics}
    perplexity = by_name["perplexity"]
    total = float(perplexity.total_weight.numpy())
    if total <= 0:
        raise ValueError(f"The evaluation held no weighted {unit} (an empty dataset). "
                         f"Received: {total} {unit}")
    loss = float(perplexity.mean().numpy())
    return {"loss": loss, "perplexity": math.exp(min(loss, 700.0)),
            "accuracy": float(by_name["accuracy"].result().numpy()), unit: int(round(total))}
