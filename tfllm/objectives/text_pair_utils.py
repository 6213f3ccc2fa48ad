"""The one check every string-in metric makes: hypotheses and references, one of each per line."""


def check_text_pairs(hypotheses, references):
    """Returns `(hypotheses, references)` as lists of strings, or raises `ValueError`.

    Both must be sequences (lists or tuples, not a single string) of the same, non-zero length,
    with a string in every place: one reference per hypothesis.
    """
    hypotheses = _string_list("hypotheses", hypotheses)
    references = _string_list("references", references)
    if len(hypotheses) != len(references):
        raise ValueError(
            "`hypotheses` and `references` must have the same length (one reference per "
            f"hypothesis). Received: len(hypotheses)={len(hypotheses)}, "
            f"len(references)={len(references)}"
        )
    if not hypotheses:
        raise ValueError(
            "`hypotheses` and `references` must hold at least one line each. "
            "Received: hypotheses=[], references=[]"
        )
    return hypotheses, references


def _string_list(name, lines):
    if isinstance(lines, (str, bytes)) or not isinstance(lines, (list, tuple)):
        raise ValueError(
            f"`{name}` must be a list or tuple of strings (one per line). "
            f"Received: {name}={_short(lines)}"
        )
    for index, line in enumerate(lines):
        if not isinstance(line, str):
            raise ValueError(
                f"`{name}` must hold only strings. Received: {name}[{index}]={_short(line)}"
            )
    return list(lines)


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
