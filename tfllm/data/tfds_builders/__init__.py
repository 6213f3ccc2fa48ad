"""TensorFlow Datasets builders for tfllm's corpora: `shakespeare_plays` and `text_folder`.

- `shakespeare_plays` (`ShakespearePlays`): the 38 bundled plays, one example per play with
  `text`, `title` and `genre`, split by play exactly like `tfllm.data.split_plays`.
- `text_folder` (`TextFolder`): a user's folder of `.txt` files given as TFDS's `manual_dir`,
  one example per document part, split 90/5/5 within each file like `tfllm.data.load_corpus`.

Both build offline from files already on disk. They are registered with TFDS by name when both
`tfllm` and `tensorflow_datasets` are imported, in either order, without `import tfllm` ever
importing TFDS itself (see `tfllm/tfds_registration.py`): `tfds.load("shakespeare_plays")` just
works. Importing this package registers them too. Once prepared, either is a training corpus:
`load_corpus("tfds:shakespeare_plays")` (`tfllm.data.tfds_corpus`).

Example:

>>> import tempfile
>>> import tensorflow_datasets as tfds
>>> import tfllm
>>> plays = tfds.load("shakespeare_plays", split="validation", data_dir=tempfile.mkdtemp())
... # doctest: +ELLIPSIS
Downloading and preparing dataset ...
>>> sorted(example["title"].decode() for example in tfds.as_numpy(plays))
['Julius Caesar', 'Macbeth', 'The Tempest']
"""

from tfllm.data.tfds_builders.shakespeare_plays import ShakespearePlays
from tfllm.data.tfds_builders.text_folder import TextFolder

__all__ = ["ShakespearePlays", "TextFolder"]
