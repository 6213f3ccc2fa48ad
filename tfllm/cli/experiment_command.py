"""`tfllm experiment`: the objectives lab (`tfllm.experiments.lab`).

    tfllm experiment list                              # name and question of each experiment
    tfllm experiment run label-smoothing               # runs/experiments/label-smoothing/report.md
    tfllm experiment run all --smoke                   # every experiment on tiny budgets

A run trains the experiment's arms (an interrupted one resumes: arms already trained with the
same config are reused), writes PNGs and `report.md` into `--output/NAME` (`NAME-smoke` for a
smoke run) and prints the report's path. `--output` must be a folder the lab may write into:
an existing `NAME` folder that the lab did not make is refused, never overwritten.
"""

from pathlib import Path

from tfllm.cli.tensorflow_startup import import_tensorflow


def register(commands):
    experiment = commands.add_parser("experiment", help="the objectives lab: list or run "
                                                        "experiments")
    actions = experiment.add_subparsers(dest="experiment_action", metavar="ACTION",
                                        parser_class=type(experiment))
    actions.required = True
    listing = actions.add_parser("list", help="name and question of each experiment")
    listing.set_defaults(handler=_list)
    run = actions.add_parser("run", help="run an experiment (or all) and write its report")
    run.add_argument("name", help="an experiment's name (see `tfllm experiment list`) or all")
    run.add_argument("--smoke", action="store_true",
                     help="tiny models and budgets on the same data: checks the code in seconds")
    run.add_argument("--output", default="runs/experiments",
                     help="folder of the experiments' folders (default runs/experiments)")
    run.set_defaults(handler=_run)


def _list(args):
    import_tensorflow()
    from tfllm.experiments.lab import experiment_names, get_experiment

    for name in experiment_names():
        print(f"{name:26} {get_experiment(name).question}")
    return 0


def _check_output(root, names, smoke):
    """Refuses a NAME folder under `root` that holds files but was not made by the lab."""
    from tfllm.errors import OutputPathError
    from tfllm.experiments.lab.experiment import experiment_folder, is_lab_folder

    if Path(root).exists() and not Path(root).is_dir():
        raise OutputPathError(f"--output must be a folder. Received: --output {str(root)!r} "
                              f"(a file)")
    for name in names:
        folder = experiment_folder(root, name, smoke)
        if folder.exists() and not is_lab_folder(folder):
            raise OutputPathError(
                f"{folder} exists and was not written by `tfllm experiment`; choose another "
                f"--output (nothing was changed). Received: --output {str(root)!r}")


def _run(args):
    import_tensorflow()
    from tfllm.experiments.lab import experiment_names, get_experiment, run_experiment

    names = experiment_names() if args.name == "all" else [get_experiment(args.name).name]
    _check_output(args.output, names, args.smoke)
    for name in names:
        run_experiment(name, smoke=args.smoke, output_root=args.output)
    return 0
