"""tfllm: language models trained with Keras 3 on TensorFlow, written to be read.

Importing `tfllm` is cheap: it only pins the Keras backend. Subpackages (and the TensorFlow import
they bring, about 2 s) load on first use, so `tfllm --help` stays instant while
`tfllm.models.GPT` or `tfllm.load_model(path)` work after a plain `import tfllm`.

Data flows one way through the subpackages, and each imports only from those before it:
tokenizers -> data -> layers -> models -> generation -> objectives -> training -> export ->
experiments -> cli. `tfllm.config` and `tfllm.errors` are plain Python and may be imported anywhere.
"""

import importlib
import os
import sys

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


class _TfdsBuilders:
    """A TFDS dataset-builder provider for tfllm's datasets, imported only when TFDS asks.

    TFDS looks names up through `registered._DATASET_PROVIDER_REGISTRY`; this provider answers
    for tfllm's names and imports the builder module (and so TensorFlow) on first lookup.
    """

    _BUILDERS = {
        "shakespeare_plays": ("tfllm.data.tfds_builders.shakespeare_plays", "ShakespearePlays"),
        "text_folder": ("tfllm.data.tfds_builders.text_folder", "TextFolder"),
    }

    def has_dataset(self, name):
        return name in self._BUILDERS

    def get_builder_cls(self, name):
        # Importing the module defines the class, which registers it with TFDS as well.
        module, class_name = self._BUILDERS[name]
        return getattr(importlib.import_module(module), class_name)


def _add_tfds_provider(registered):
    if not hasattr(registered, "add_dataset_builder_provider"):
        return  # not in this TFDS (setup.cfg pins 4.9.x): import tfllm.data.tfds_builders
    if not any(isinstance(p, _TfdsBuilders)
               for p in getattr(registered, "_DATASET_PROVIDER_REGISTRY", ())):
        # First, so a lookup of our names never triggers TFDS's import of every legacy builder.
        registered.add_dataset_builder_provider(_TfdsBuilders(), index=0)


class _TfdsImportHook:
    """Adds the provider once `tensorflow_datasets.core.registered` has been imported.

    `import tfllm` must not import TFDS (0.4 s) or TensorFlow (2 s), yet `tfds.load(...)` must
    find tfllm's datasets whichever of the two was imported first. If TFDS is already loaded we
    register at once; otherwise this finder wraps the loader of TFDS's registry module so the
    provider is added the moment that module has run, and then removes itself.
    """

    _TARGET = "tensorflow_datasets.core.registered"

    def find_spec(self, fullname, path, target=None):
        if fullname != self._TARGET:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            _add_tfds_provider(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)

        loader.exec_module = exec_then_register
        return spec


def _register_tfds_builders():
    registered = sys.modules.get(_TfdsImportHook._TARGET)
    if registered is not None:
        _add_tfds_provider(registered)
    elif not any(isinstance(f, _TfdsImportHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _TfdsImportHook())


_register_tfds_builders()

_SUBPACKAGES = (
    "config",
    "errors",
    "tokenizers",
    "data",
    "layers",
    "models",
    "generation",
    "objectives",
    "training",
    "export",
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
