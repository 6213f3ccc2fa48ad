"""Registers tfllm's TFDS datasets (`shakespeare_plays`, `text_folder`) with TFDS, lazily.

`import tfllm` must not import TFDS (0.4 s) or TensorFlow (2 s), yet `tfds.load(...)` must find
tfllm's datasets whichever of the two was imported first. This module is plain Python: it adds a
builder provider to TFDS's registry when TFDS is already imported, or an import hook that adds it
the moment TFDS's registry module has run. The builders themselves live in
`tfllm/data/tfds_builders/` and are imported on first lookup.
"""

import importlib
import sys


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


def register_tfds_builders():
    """Makes tfllm's TFDS datasets loadable by name now, or as soon as TFDS is imported."""
    registered = sys.modules.get(_TfdsImportHook._TARGET)
    if registered is not None:
        _add_tfds_provider(registered)
    elif not any(isinstance(f, _TfdsImportHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _TfdsImportHook())

