"""Tasks: what a model learns, and so its pipelines, loss, metrics, report and outputs.

- `Task`, `TaskData`: the contract (`tfllm/tasks/task.py`).
- `CausalLM` ("causal_lm"): next-token prediction, for GPT and the LSTM LM; its objective
  (`training_objective`): cross-entropy, squared error or square loss, plus unlikelihood and
  word penalties.
- `Seq2Seq`: source text -> target text, for the encoder-decoder models; `Restoration`
  ("restoration") makes its pairs from plays: punctuation and casing restoration.

- `Classification`: one label per passage; `ComedyTragedy` ("comedy-tragedy") and `Genre`
  ("genre") label passages of the plays by their play's genre.
- `MaskedLM` ("masked_lm"): BERT's masked-LM pre-training, for `BertMaskedLM` (on the plays,
  the genre split's training plays only).

A task is picked by name (`RunConfig.task`, `get_task`); each is one `Task` subclass registered
here with `register_task`.

In the one-way chain, tasks come after objectives (they choose losses and metrics) and before
training (which asks them).
"""

from tfllm.errors import ConfigError
from tfllm.tasks.causal_lm import CausalLM
from tfllm.tasks.classification import Classification, ComedyTragedy, Genre
from tfllm.tasks.masked_lm import MaskedLM
from tfllm.tasks.restoration import Restoration
from tfllm.tasks.seq2seq import Seq2Seq
from tfllm.tasks.task import Task, TaskData

_TASKS = {}


def register_task(task_class):
    """Registers a `Task` subclass under its `name`; returns the class (usable as a decorator)."""
    if not task_class.name or task_class.name in _TASKS:
        raise ValueError(f"A task needs a new, non-empty name. Received: name={task_class.name!r}")
    _TASKS[task_class.name] = task_class
    return task_class


def get_task(name):
    """A new instance of the task registered as `name` (a `ConfigError` lists the valid ones)."""
    if name not in _TASKS:
        raise ConfigError(
            f"Unknown task. Valid tasks: {', '.join(sorted(_TASKS))}. Received: task={name!r}"
        )
    return _TASKS[name]()


register_task(CausalLM)
register_task(Restoration)
register_task(ComedyTragedy)
register_task(Genre)
register_task(MaskedLM)

__all__ = ["Classification", "ComedyTragedy", "Genre", "CausalLM", "MaskedLM", "Restoration", "Seq2Seq", "Task", "TaskData", "get_task", "register_task"]
