"""`TextFolder`: a user's folder of `.txt` files as the TFDS dataset `text_folder`.

TFDS never downloads anything here: the folder is TFDS's `manual_dir`, given in the download
config. Each `.txt` file under it (searched recursively) is read as UTF-8 (strictly: a file that
is not UTF-8 fails naming the file and line) and split like every user corpus in tfllm
(`tfllm.data.load_corpus`): its first 90% of characters to train, the next 5% to validation, the
last 5% to test, cut at line boundaries. One example per non-empty part:

    text  tfds.features.Text  the part of the file
    name  tfds.features.Text  the file's path relative to the folder, e.g. "book/ch01.txt"

A missing or empty `manual_dir` fails with a `CorpusError` naming the folder and how to pass
one. TFDS caches what it built under `data_dir/text_folder/1.0.0`: after changing the folder,
load with `download_and_prepare_kwargs={"download_config": tfds.download.DownloadConfig(
manual_dir=..., download_mode=tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS)}` or use a fresh
`data_dir`, or TFDS returns the earlier build.

Example:

>>> import pathlib, tempfile
>>> import tensorflow_datasets as tfds
>>> import tfllm
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "lines.txt").write_text("".join(f"line {i}\\n" for i in range(40)))
>>> config = tfds.download.DownloadConfig(manual_dir=str(folder))
>>> parts = tfds.load("text_folder", split="validation", data_dir=tempfile.mkdtemp(),
...                   download_and_prepare_kwargs={"download_config": config})
... # doctest: +ELLIPSIS
Downloading and preparing dataset ...
>>> [example["text"].decode() for example in tfds.as_numpy(parts)]
['line 37\\nline 38\\n']
"""

import tensorflow_datasets as tfds

from tfllm.data.corpus import SPLITS, load_corpus
from tfllm.errors import CorpusError


class TextFolder(tfds.core.GeneratorBasedBuilder):
    """A folder of UTF-8 `.txt` files (the `manual_dir`), each split 90/5/5 at line boundaries."""

    name = "text_folder"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Files split 90/5/5 at line boundaries, like tfllm.data.load_corpus."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put your UTF-8 .txt files (any folder depth) in one folder and pass it as manual_dir: "
        "tfds.load('text_folder', download_and_prepare_kwargs={'download_config': "
        "tfds.download.DownloadConfig(manual_dir='/path/to/folder')})."
    )

    def _info(self):
        return self.dataset_info_from_configs(
            description="A folder of the user's UTF-8 .txt files, each split 90/5/5 at line boundaries.",
            features=tfds.features.FeaturesDict({
                "text": tfds.features.Text(),
                "name": tfds.features.Text(),
            }),
        )

    def _split_generators(self, dl_manager):
        try:
            folder = dl_manager.manual_dir
        except AssertionError:
            # TFDS raises a bare AssertionError with a multi-line message; say it in one line,
            # naming the folder it looked at (the default is data_dir/downloads/manual).
            looked_at = getattr(dl_manager, "_manual_dir", None)
            raise CorpusError(
                f"The text_folder dataset reads the .txt files in its manual_dir, and "
                f"{str(looked_at)!r} does not exist or is empty. Pass your folder: "
                f"download_and_prepare_kwargs={{'download_config': "
                f"tfds.download.DownloadConfig(manual_dir='/path/to/folder')}}. "
                f"Received: manual_dir={str(looked_at)!r}"
            ) from None
        corpus = load_corpus(str(folder))
        return {split: self._generate_examples(corpus.documents(split)) for split in SPLITS}

    def _generate_examples(self, documents):
        for document in documents:
            yield document.name, {"text": document.text, "name": document.name}
