"""Generated text at the end of each epoch: printed, and written to TensorBoard's Text tab."""

import keras
import tensorflow as tf

from tfllm.validation import check_positive_int


def markdown_code_block(text):
    """`text` as a Markdown indented code block: shown verbatim (no Markdown, no HTML)."""
    return "\n".join("    " + line for line in text.split("\n"))


class TextSampleLogger(keras.callbacks.Callback):
    """Calls `sample_fn(model) -> str` every `every_epochs` epochs; prints and logs the text.

    The sampling rule (prompt, length, temperature) belongs to the caller, who usually wraps
    `tfllm.generation.generate`. In TensorBoard the text appears under `samples` at the current
    optimizer step, as a code block, so Markdown characters in generated text (`#`, `*`, `<`)
    display as written.

    Args:
        sample_fn: a function of the model returning a string.
        log_dir: directory for this callback's event file (None: print only).
        every_epochs: sample after every this many epochs (>= 1).
        print_fn: where the text goes (None: nowhere); default `print`.

    Example:

    >>> logger = TextSampleLogger(lambda model: "ROMEO: ...", log_dir=None, print_fn=None)
    >>> # model.fit(data, epochs=4, callbacks=[logger]); logger.samples -> [(step, text), ...]
    """

    def __init__(self, sample_fn, log_dir=None, every_epochs=1, print_fn=print):
        super().__init__()
        if not callable(sample_fn):
            raise TypeError(f"sample_fn must be callable. Received: sample_fn={sample_fn!r}")
        self.sample_fn = sample_fn
        self.log_dir = None if log_dir is None else str(log_dir)
        self.every_epochs = check_positive_int("every_epochs", every_epochs)
        self.print_fn = print_fn
        self.samples = []  # [(step, text)]
        self._writer = None

    def on_train_begin(self, logs=None):
        if self.log_dir is not None and self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs:
            return
        text = self.sample_fn(self.model)
        if not isinstance(text, str):
            raise TypeError(
                f"sample_fn must return a str. Received: a {type(text).__name__}: {text!r}"
            )
        step = int(self.model.optimizer.iterations.numpy())
        self.samples.append((step, text))
        if self.print_fn is not None:
            # A live progress bar (verbose=1) is mid-line here: start on a fresh line.
            fresh_line = "\n" if (self.params or {}).get("verbose") == 1 else ""
            self.print_fn(f"{fresh_line}--- sample after epoch {epoch + 1} (step {step}) ---\n{text}")
        if self._writer is not None:
            with self._writer.as_default(step=step):
                tf.summary.text("samples", markdown_code_block(text))
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
