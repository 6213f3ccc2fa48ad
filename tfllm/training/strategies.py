"""`tf.distribute` strategies by name: `--strategy auto|cpu|gpu|mirrored|multiworker|tpu`.

Batch sizes in configs are *global*: the batch of one optimizer step, split evenly across the
replicas (devices) of the strategy. Models, optimizers and metrics must be created inside
`strategy.scope()` so their variables are mirrored on every replica.

- `cpu`: the default strategy (`OneDeviceStrategy("/cpu:0")` when a GPU is present); 1 replica.
- `gpu`: the default strategy, which places ops on `/gpu:0`; 1 replica; an error if no GPU.
- `mirrored`: `MirroredStrategy` over every local GPU, or every logical CPU when there is no GPU.
- `multiworker`: `MultiWorkerMirroredStrategy`, the cluster from `TF_CONFIG`; every device of
  every worker.
- `tpu`: `TPUStrategy` on the TPU the resolver finds; an error if none.
- `auto`: `tpu` if `TPU_NAME`/`COLAB_TPU_ADDR` is set, else `multiworker` if `TF_CONFIG` names more
  than one task, else `mirrored` on 2+ GPUs, `gpu` on one, `cpu` otherwise.

Example:

>>> choice = resolve_strategy("cpu")
>>> choice.name, choice.num_replicas
('cpu', 1)
>>> per_replica_batch_size(64, choice)
64
"""

import dataclasses
import json
import os

import tensorflow as tf

from tfllm.config import STRATEGIES  # noqa: F401  (re-exported; checked in TrainConfig)
from tfllm.errors import ConfigError


# Collective group keys per MirroredStrategy: each one numbers its collectives from
# `_collective_key_base` + 1, a class attribute that TensorFlow leaves at 0, so every strategy in
# a process reuses the same keys. TensorFlow keeps each key's tensor shape for the life of the
# process, so a second mirrored run of another model (a notebook that trains twice) failed with
# "Shape mismatch in the collective instance". A strategy uses a handful of groups; 1,000 apart
# keeps them disjoint. tests/training/test_strategies.py trains two models in one process and
# fails if TensorFlow renames the attribute.
_KEY_BASE_STEP = 1000
_mirrored_count = 0


def _mirrored_strategy(devices):
    """`tf.distribute.MirroredStrategy(devices)` with collective keys no earlier one used."""
    global _mirrored_count
    _mirrored_count += 1
    strategy_class = tf.distribute.MirroredStrategy
    if not hasattr(strategy_class, "_collective_key_base"):
        raise RuntimeError("tf.distribute.MirroredStrategy has no _collective_key_base: "
                           "tfllm's fix for reused collective keys needs updating for this "
                           f"TensorFlow ({tf.__version__}).")
    saved = strategy_class._collective_key_base
    strategy_class._collective_key_base = _mirrored_count * _KEY_BASE_STEP
    try:
        return strategy_class(devices)
    finally:
        strategy_class._collective_key_base = saved


@dataclasses.dataclass(frozen=True)
class StrategyChoice:
    """A created strategy and what to tell the user about it."""

    name: str  # the resolved name: cpu | gpu | mirrored | multiworker | tpu
    strategy: tf.distribute.Strategy
    description: str  # one line: what was picked and on which devices

    @property
    def num_replicas(self):
        return int(self.strategy.num_replicas_in_sync)

    @property
    def is_chief(self):
        """True on the worker that writes shared files (logs, plots, the final model)."""
        resolver = getattr(self.strategy, "cluster_resolver", None)
        if resolver is None or not resolver.cluster_spec().jobs:
            return True
        task_type, task_id = resolver.task_type, resolver.task_id
        # MultiWorkerMirroredStrategy's chief is "chief" 0, or "worker" 0 when there is none.
        has_chief = "chief" in resolver.cluster_spec().jobs
        return task_type == "chief" or (not has_chief and task_type == "worker" and task_id == 0)


def _tf_config_task_count():
    """Tasks that TF_CONFIG's cluster names (0 when unset or unreadable)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except (ValueError, AttributeError):
        return 0
    return sum(len(tasks) for tasks in cluster.values() if isinstance(tasks, list))


def _find_tpu():
    """A connected `TPUClusterResolver`, or None when no TPU can be found."""
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return resolver
    except (ValueError, RuntimeError, tf.errors.OpError):
        return None


def _device_list(devices):
    return ", ".join(device.name.replace("/device:", "") for device in devices)


def resolve_strategy(name="auto"):
    """Creates the `tf.distribute.Strategy` called `name` (see the module docstring).

    Args:
        name: one of `STRATEGIES`.
    Returns:
        A `StrategyChoice`; its `description` says what was picked (print it).
    Raises:
        ConfigError: an unknown name, `gpu`/`tpu` without such a device, or `multiworker` with
            an unreadable `TF_CONFIG`.
    """
    if name not in STRATEGIES:
        raise ConfigError(
            f"train.strategy must be one of {', '.join(STRATEGIES)}. "
            f"Received: train.strategy={name!r}"
        )
    # Physical, not logical, devices: listing logical ones starts TensorFlow's runtime, after
    # which MultiWorkerMirroredStrategy can no longer configure its collective ops.
    physical_gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        if os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR"):
            name = "tpu"
        elif _tf_config_task_count() > 1:
            name = "multiworker"
        elif len(physical_gpus) > 1:
            name = "mirrored"
        elif physical_gpus:
            name = "gpu"
        else:
            name = "cpu"
        picked = "auto picked "
    else:
        picked = ""

    if name == "cpu":
        # The default strategy is exactly the single-device path that model.fit takes without
        # any strategy; OneDeviceStrategy only to keep ops off a GPU that is present.
        strategy = (tf.distribute.OneDeviceStrategy("/cpu:0") if physical_gpus
                    else tf.distribute.get_strategy())
        return StrategyChoice(name, strategy, f"Strategy: {picked}cpu (one device, /cpu:0).")
    if name == "gpu":
        if not physical_gpus:
            raise ConfigError(
                "train.strategy=gpu needs a GPU, but TensorFlow sees none (check the CUDA "
                "install, CUDA_VISIBLE_DEVICES and `nvidia-smi`), or use --strategy cpu. "
                "Received: train.strategy='gpu'"
            )
        strategy = tf.distribute.get_strategy()  # places ops on /gpu:0 by default
        return StrategyChoice(name, strategy, f"Strategy: {picked}gpu (one device, /gpu:0).")
    if name == "mirrored":
        # With no GPU, MirroredStrategy() would use one CPU; split CPUs (tests) are used instead.
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = _mirrored_strategy([device.name for device in devices])
        return StrategyChoice(
            name, strategy,
            f"Strategy: {picked}mirrored over {len(devices)} device(s): {_device_list(devices)}.",
        )
    if name == "multiworker":
        if _tf_config_task_count() == 0 and os.environ.get("TF_CONFIG"):
            raise ConfigError(
                "train.strategy=multiworker reads the cluster from TF_CONFIG, which is not valid "
                "JSON with a 'cluster' object (see docs/distributed.md). "
                f"Received: TF_CONFIG={os.environ['TF_CONFIG'][:80]!r}"
            )
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        resolver = strategy.cluster_resolver
        task = (f"task {resolver.task_type}:{resolver.task_id} of "
                f"{_tf_config_task_count() or 1} worker(s)")
        return StrategyChoice(
            name, strategy,
            f"Strategy: {picked}multiworker ({task}), "
            f"{strategy.num_replicas_in_sync} replica(s) in all.",
        )
    # name == "tpu"
    resolver = _find_tpu()
    if resolver is None:
        raise ConfigError(
            "train.strategy=tpu needs a TPU, but none was found (set TPU_NAME or run on a TPU "
            "VM), or use --strategy auto. Received: train.strategy='tpu'"
        )
    strategy = tf.distribute.TPUStrategy(resolver)
    return StrategyChoice(
        name, strategy, f"Strategy: {picked}tpu, {strategy.num_replicas_in_sync} core(s)."
    )


def per_replica_batch_size(global_batch_size, choice, *, what="train.batch_size"):
    """`global_batch_size` split over the replicas of `choice` (a `StrategyChoice`).

    Raises:
        ConfigError: when the batch does not split evenly (every replica must get the same
            number of rows for the gradients to average to the global batch's gradient).
    """
    replicas = choice.num_replicas
    if global_batch_size % replicas:
        raise ConfigError(
            f"{what} is the global batch and must be divisible by the number of replicas "
            f"({replicas} under strategy {choice.name}); use a multiple of {replicas}. "
            f"Received: {what}={global_batch_size}"
        )
    return global_batch_size // replicas
