"""The objectives lab: experiments that measure what a training objective does to a model.

`tfllm experiment list` names them; `tfllm experiment run NAME` (or `all`, `--smoke` for tiny
budgets) trains each experiment's arms and writes `runs/experiments/NAME/report.md` with its
tables and PNGs. The pieces:

- `Experiment`, `register_experiment`, `get_experiment`, `experiment_names`, `run_experiment`
  (`experiment.py`): the contract and the runner;
- `LabRun`, `Arm`, `steps_for_tokens` (`lab_run.py`): an experiment's folder and trained arms;
- `Report` (`report.py`), the figures (`lab_plots.py`) and the held-out scores of a language
  model (`next_token_scores.py`);
- one module per experiment, imported here so that each registers itself, in reading order.
"""

from tfllm.experiments.lab.experiment import (
    Experiment,
    experiment_names,
    get_experiment,
    register_experiment,
    run_experiment,
)
from tfllm.experiments.lab.lab_run import Arm, LabRun, steps_for_tokens
from tfllm.experiments.lab.report import Report, write_report
# The experiments register themselves on import, in reading order.
from tfllm.experiments.lab import architectures  # noqa: F401,E402
from tfllm.experiments.lab import squared_error  # noqa: F401,E402
from tfllm.experiments.lab import label_smoothing  # noqa: F401,E402
from tfllm.experiments.lab import unlikelihood  # noqa: F401,E402
from tfllm.experiments.lab import conflicting_objectives  # noqa: F401,E402
from tfllm.experiments.lab import mismatched_generalisation  # noqa: F401,E402

__all__ = ["Arm", "Experiment", "LabRun", "Report", "experiment_names", "get_experiment",
           "register_experiment", "run_experiment", "steps_for_tokens", "write_report"]
