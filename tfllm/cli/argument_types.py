"""argparse types shared by the `tfllm` commands: each names what it expected and what it got."""

import argparse


def bounded(parse, minimum, description):
    """An argparse type: `parse(text)` that must be >= `minimum`, with a message naming both."""

    def convert(text):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, received {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {description}, received {value}")
        return value

    return convert


positive_int = bounded(int, 1, "a positive integer")
non_negative_int = bounded(int, 0, "an integer >= 0")
non_negative_float = bounded(float, 0.0, "a number >= 0")
