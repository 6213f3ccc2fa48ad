"""Tasks: what a model learns, and so its pipelines, loss, metrics, report and outputs.

- `Task`, `TaskData`: the contract (`tfllm/tasks/task.py`).
- `CausalLM` ("causal_lm"): next-token prediction, for GPT and the LSTM LM.
- `Seq2Seq`: source text -> target text, for the encoder-decoder models; `Restoration`
  ("restoration") makes its pairs from plays: punctuation and casing restoration.

A task is picked by name (`RunConfig.task`, `get_task`). Masked LM ("masked_lm") and
classification ("classification") are the next kinds: each is one `Task` subclass registered
here with `register_task`, and nothing in training, export or the CLI changes for it.

In the one-way chain, tasks come after objectives (they choose losses and metrics) and before
training (which asks them).
"""

from tfllm.errors import ConfigError
from tfllm.tasks.causal_lm import CausalLM
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

__all__ = ["CausalLM", "Restoration", "Seq2Seq", "Task", "TaskData", "get_task", "register_task"]
