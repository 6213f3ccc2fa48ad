"""`check_output_dir`: may tfllm write a directory at a path the user named?

Every command that writes a directory (`tfllm train --output`, `tfllm export --output`,
`tfllm tokenizer train --output`, `tfllm embeddings train --output`) asks this first, before any
work is done, so a refusal costs nothing. The rules:

- A path that does not exist, or an empty directory, is written.
- A directory tfllm wrote earlier (it holds the marker file of one of tfllm's directories: a
  model directory's `tfllm.json`, a serving export's `tfllm_serving.json`, a vectors directory's
  `vectors.txt` + `vocabulary.tsv` + `metadata.json`, a tokenizer's `tokenizer.json`) is replaced
  by a new run of the same command without `--overwrite`, so a command can be run twice; the
  caller prints the returned note. One of another kind is replaced only with `--overwrite`.
- A regular file is replaced only with `--overwrite`.
- A non-empty directory tfllm did not write is never replaced, not even with `--overwrite`:
  tfllm does not delete files it did not write.
- A path equal to, inside, or holding a protected path (the source model directory, the run
  directory) is refused even with `--overwrite`.
- A path under a regular file, or in a folder tfllm may not write, is refused.

Plain Python (no TensorFlow), like `tfllm.paths`.

Example:

>>> import tempfile
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp())
>>> check_output_dir(root / "new") is None
True
>>> (root / "mine").mkdir()
>>> _ = (root / "mine" / "precious.txt").write_text("x")
>>> check_output_dir(root / "mine")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tfllm.errors.OutputPathError: --output ... holds files tfllm did not write ...
"""

import json
import os
from pathlib import Path

from tfllm.errors import OutputPathError
from tfllm.paths import MODEL_FILE, TOKENIZER_FILE, VECTORS_FILE

MODEL_MANIFEST = "tfllm.json"
SERVING_MARKER = "tfllm_serving.json"

# kind -> (what it is called, files that together mark a directory tfllm wrote).
KINDS = {
    "model": ("model directory", (MODEL_MANIFEST, MODEL_FILE)),
    "serving": ("serving export", (SERVING_MARKER, "saved_model.pb")),
    "vectors": ("vectors directory", (VECTORS_FILE, "vocabulary.tsv", "metadata.json")),
    "tokenizer": ("tokenizer directory", (TOKENIZER_FILE,)),
}


def written_kind(path):
    """The kind (a `KINDS` key) of tfllm directory at `path`, or None if tfllm did not write it."""
    path = Path(path)
    for kind, (_, markers) in KINDS.items():
        if all((path / marker).is_file() for marker in markers) and _is_tfllm_manifest(path, kind):
            return kind
    return None


def _is_tfllm_manifest(path, kind):
    if kind != "model":
        return True
    try:
        manifest = json.loads((path / MODEL_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "tfllm_version" in manifest


def check_output_dir(path, *, overwrite=False, protect=(), what="--output", kind=None):
    """Raises `OutputPathError` if tfllm may not write a directory at `path` (see the module
    docstring for the rules).

    Args:
        path: the directory the caller is about to write (replacing what is there).
        overwrite: the user asked to replace what is there (`--overwrite`).
        protect: paths that must survive: `path` may not be one of them, lie inside one, or
            hold one, whatever `overwrite` says.
        what: how the user named `path` (the flag), for the messages.
        kind: the kind of directory about to be written (`"model"`, `"serving"`, `"vectors"`,
            `"tokenizer"`); a tfllm directory of another kind needs `overwrite`. None accepts
            any kind.
    Returns:
        None when nothing is replaced (no such path, or an empty directory), else a short note
        saying what will be replaced, for the caller to print.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)} or None. Received: kind={kind!r}")
    path = Path(path).expanduser()
    shown = f"{what} {str(path)!r}"
    resolved = Path(os.path.realpath(path))
    for protected in protect:
        _check_not_protected(resolved, Path(os.path.realpath(Path(protected).expanduser())), shown)
    _check_parent_writable(path, shown)
    if not os.path.lexists(path):
        return None
    if path.is_symlink():  # replacing it replaces the link; what it points to is left alone
        if not overwrite:
            raise OutputPathError(
                f"{shown} is a symbolic link (to {os.readlink(path)}). Add --overwrite to replace "
                f"the link with a directory, or give the directory it points to as {what}."
            )
        return f"replacing the symbolic link {path} (--overwrite)"
    if not path.is_dir():
        if not overwrite:
            raise OutputPathError(
                f"{shown} is a file, not a directory tfllm wrote. Add --overwrite to replace it, "
                f"or choose another {what}."
            )
        return f"replacing the file {path} (--overwrite)"
    try:
        entries = sorted(entry.name for entry in os.scandir(path))
    except OSError as error:
        raise OutputPathError(
            f"Cannot read {shown}: {error.strerror}. Choose another {what}."
        ) from None
    if not entries:
        return None
    found = written_kind(path)
    if found is None:
        listed = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise OutputPathError(
            f"{shown} holds files tfllm did not write ({listed}); tfllm never deletes them, not "
            f"even with --overwrite. Choose another {what}, or move those files away first."
        )
    name = KINDS[found][0]
    if kind is not None and found != kind and not overwrite:
        raise OutputPathError(
            f"{shown} holds a {name} that tfllm wrote, not a {KINDS[kind][0]}. Add --overwrite "
            f"to replace it, or choose another {what}."
        )
    return f"replacing the {name} tfllm wrote earlier at {path}"


def _check_not_protected(resolved, protected, shown):
    if resolved == protected or protected in resolved.parents:
        relation = "is" if resolved == protected else "lies inside"
    elif resolved in protected.parents:
        relation = "holds"
    else:
        return
    raise OutputPathError(
        f"{shown} {relation} {protected}, which tfllm must not replace (even with --overwrite): "
        f"choose an output outside it."
    )


def _check_parent_writable(path, shown):
    """Refuses a path under a regular file, or whose nearest existing folder tfllm may not write."""
    ancestor = path.absolute().parent
    while not ancestor.exists():
        if os.path.lexists(ancestor):  # a dangling link
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(
            f"Cannot write {shown}: {ancestor} is not a directory. Choose another path."
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"Cannot write {shown}: permission denied in {ancestor}. Choose another path, or "
            f"make {ancestor} writable."
        )
