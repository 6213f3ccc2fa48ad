"""The objectives lab's contract: an `Experiment` trains its arms and returns a `Report`.

Each experiment is one class in its own module, registered by name; `run_experiment` gives it
a `LabRun` (its folder and arms), adds what every report states (the machine, the wall time,
the command) and writes `report.md`. A smoke run (`smoke=True`) trains tiny models on small
budgets of the same real data, into its own folder (`<name>-smoke`), so it never replaces a
full run's arms; its report is marked as such.

Example:

>>> import tfllm.experiments.lab  # registers every experiment
>>> "label-smoothing" in experiment_names()
True
"""

import math
from pathlib import Path

from tfllm.errors import ConfigError, OutputPathError
from tfllm.experiments.lab.lab_run import LabRun, machine_description
from tfllm.experiments.lab.report import write_report

_EXPERIMENTS = {}


class Experiment:
    """One question about a training objective, answered by measurement.

    Subclasses set `name` (the CLI name), `title`, `question`, `references` (papers by title
    and year) and implement `run(lab)`, which trains arms with `lab.train(...)`, draws plots
    with `lab.save_figure(...)` and returns a `Report` whose reading follows from its numbers.
    """

    name = ""
    title = ""
    question = ""
    references = ()

    def command(self, smoke):
        return f"tfllm experiment run {self.name}" + (" --smoke" if smoke else "")

    def run(self, lab):
        raise NotImplementedError


def register_experiment(cls):
    """Class decorator: registers an `Experiment` subclass under its `name`."""
    if not cls.name or cls.name in _EXPERIMENTS:
        raise ValueError(f"An experiment needs a new, non-empty name. Received: {cls.name!r}")
    _EXPERIMENTS[cls.name] = cls
    return cls


def experiment_names():
    """The registered names, in the order the experiments are meant to be read."""
    return list(_EXPERIMENTS)


def get_experiment(name):
    """An instance of the experiment `name`, or a `ConfigError` listing the valid names."""
    if name not in _EXPERIMENTS:
        raise ConfigError(f"Unknown experiment {name!r}. Valid experiments: "
                          f"{', '.join(_EXPERIMENTS)} or all. Received: {name!r}")
    return _EXPERIMENTS[name]()


def experiment_folder(output_root, name, smoke):
    return Path(output_root) / (f"{name}-smoke" if smoke else name)


def is_lab_folder(folder):
    """Whether `folder` is empty or was written by the lab (it holds `arms/` or `report.md`
    and nothing that is not the lab's)."""
    entries = {entry.name for entry in Path(folder).iterdir()}
    return not entries or (bool(entries & {"arms", "report.md"}) and all(
        name in ("arms", "report.md", "tensorboard") or name.endswith(".png")
        or (name.startswith(".") and ".tmp-" in name) for name in entries))


def run_experiment(name, *, smoke=False, output_root="runs/experiments", print_fn=print):
    """Runs experiment `name` and writes its report; returns `(report, path of report.md)`.

    Arms already trained with the same config are reused (`LabRun.train`), so an interrupted
    experiment resumes by running it again.
    """
    experiment = get_experiment(name)
    folder = experiment_folder(output_root, name, smoke)
    if folder.exists() and not is_lab_folder(folder):
        raise OutputPathError(f"{folder} exists and was not written by the lab; choose another "
                              f"output_root (nothing was changed). Received: "
                              f"output_root={str(output_root)!r}")
    lab = LabRun(folder, smoke=smoke, print_fn=print_fn)
    print_fn(f"{name}: {experiment.question}")
    report = experiment.run(lab)
    report.smoke = smoke
    report.references = report.references or list(experiment.references)
    report.setup["machine"] = machine_description()
    report.setup["wall time"] = (f"{lab.elapsed():.0f} s for this invocation; training "
                                 f"{sum(arm.train_seconds for arm in lab.arms.values()):.0f} s "
                                 f"over {len(lab.arms)} arms")
    bad = [value for value in report.numbers() if not math.isfinite(value)]
    if bad:
        report.reading.append(f"{len(bad)} table value(s) are not finite: a run diverged.")
    path = write_report(report, folder)
    print_fn(f"{name}: report {path}")
    return report, path
