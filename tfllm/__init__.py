"""tfllm: language models trained with Keras 3 on TensorFlow, written to be read.

Importing `tfllm` is cheap: it only pins the Keras backend. Subpackages (and the TensorFlow import
they bring, about 2 s) load on first use, so `tfllm --help` stays instant while
`tfllm.models.GPT` or `tfllm.load_model(path)` work after a plain `import tfllm`.

Data flows one way through the subpackages, and each imports only from those before it:
tokenizers -> data -> layers -> models -> generation -> objectives -> tasks -> training -> export
-> benchmarking, experiments -> cli. `tfllm.config`, `tfllm.errors`, `tfllm.validation` and
`tfllm.atomic_files` are plain Python and may be imported anywhere.
"""

import importlib
import os

__version__ = "0.1.0"


def _pin_backend():
    if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true", "yes"):
        raise ImportError(
            "tfllm needs Keras 3, but TF_USE_LEGACY_KERAS is set, which switches TensorFlow to "
            "Keras 2. Unset it: `unset TF_USE_LEGACY_KERAS`. "
            f"Received: TF_USE_LEGACY_KERAS={os.environ['TF_USE_LEGACY_KERAS']!r}"
        )
    backend = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise ImportError(
            "tfllm runs on the TensorFlow backend of Keras 3 (its data pipelines, exports and "
            "distribution strategies are TensorFlow's). Set KERAS_BACKEND=tensorflow or unset it. "
            f"Received: KERAS_BACKEND={backend!r}"
        )


_pin_backend()


# `tfds.load("shakespeare_plays")` must work after `import tfllm` without this import paying for
# TensorFlow or TFDS: see tfds_registration.py (plain Python).
from tfllm.tfds_registration import register_tfds_builders  # noqa: E402

register_tfds_builders()

_SUBPACKAGES = (
    "config",
    "errors",
    "tokenizers",
    "data",
    "layers",
    "models",
    "generation",
    "objectives",
    "tasks",
    "training",
    "export",
    "benchmarking",
    "experiments",
    "testing",
)
# Shortcuts for the calls a notebook makes first.
_SHORTCUTS = {
    "load_model": ("tfllm.export", "load_model_dir"),
    "generate": ("tfllm.generation", "generate"),
}


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"tfllm.{name}")
    if name in _SHORTCUTS:
        module, attribute = _SHORTCUTS[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'tfllm' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBPACKAGES) + list(_SHORTCUTS))
