"""`CausalLM`: next-token prediction, the task of GPT and the LSTM language model.

Data: the corpus's training text as one token stream cut into windows of T + 1 tokens
(`tfllm.data.lm_dataset`), every validation token scored once. Loss: `MaskedCrossEntropy`
(nats per real token). Metrics: perplexity, bits per character and bits per byte (with the
characters and UTF-8 bytes per token of the evaluated text, so tokenizers compare) and next-token
accuracy, all from exact weighted sums. A sample: `generate` from the configured prompt.
"""

import dataclasses
import math

from tfllm.data import DOCUMENT_SEPARATOR, lm_dataset, tokenize_corpus_text
from tfllm.errors import ConfigError
from tfllm.generation import generate
from tfllm.models import CausalLanguageModel
from tfllm.objectives import (BitsPerByte, BitsPerCharacter, MaskedAccuracy, MaskedCrossEntropy,
                              Perplexity)
from tfllm.tasks.task import Task, TaskData
from tfllm.tasks.training_objective import language_model_objective


@dataclasses.dataclass
class LanguageModelData(TaskData):
    """`TaskData` with the UTF-8 bytes per token of the validation text, for bits per byte."""

    bytes_per_token: float = None


def text_per_token(text, token_count):
    """`(characters_per_token, bytes_per_token)` of `text` cut into `token_count` tokens: the
    denominators of bits per character and bits per byte (bytes in UTF-8)."""
    tokens = max(token_count, 1)
    return len(text) / tokens, len(text.encode("utf-8")) / tokens


class CausalLM(Task):
    """Predict each next token from the tokens before it (see the module docstring).

    Example:

    >>> from tfllm.tasks import get_task
    >>> task = get_task("causal_lm")
    >>> [metric.name for metric in task.metrics(characters_per_token=1.0)]
    ['perplexity', 'bits_per_character', 'accuracy']
    >>> [metric.name for metric in task.metrics(1.0, bytes_per_token=1.5)]
    ['perplexity', 'bits_per_character', 'bits_per_byte', 'accuracy']
    """

    name = "causal_lm"

    def check_model(self, model):
        if not isinstance(model, CausalLanguageModel):
            raise ConfigError(
                f"task causal_lm trains a tfllm.models.CausalLanguageModel (GPT, "
                f"LSTMLanguageModel or a subclass). Received: model.class_name="
                f"{type(model).__name__!r}"
            )

    def lengths(self, model_arguments):
        """The model's context length, `sequence_length`."""
        value = model_arguments.get("sequence_length")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(
                f"task causal_lm needs the model's context length, a positive integer: set "
                f"model.sequence_length. Received: model.sequence_length={value!r}"
            )
        return value

    def prepare_data(self, corpus, tokenizer, lengths, data_config, train_config, *,
                     micro_batch_size, seed):
        sequence_length = lengths
        train_ids = tokenize_corpus_text(tokenizer, corpus.split_text("train"))
        validation_text = corpus.split_text("validation")
        validation_ids = tokenize_corpus_text(tokenizer, validation_text)
        train = lm_dataset(train_ids, sequence_length, micro_batch_size,
                           windows=data_config.windows, seed=seed,
                           shuffle_buffer=data_config.shuffle_buffer)
        validation = lm_dataset(validation_ids, sequence_length, train_config.batch_size,
                                windows="eval")
        # Intermediate validation reads about eval_batches batches spread evenly over the whole
        # split (every k-th batch: a prefix would only measure the first play).
        stride = max(1, -(-int(validation.cardinality()) // train_config.eval_batches))
        # Bits per character (and per byte) compare tokenizers only with the characters (and
        # bytes) per token of the evaluated text (1 for char, about 3 for a 4000-piece subword
        # vocabulary).
        characters_per_token, bytes_per_token = text_per_token(validation_text,
                                                               len(validation_ids))
        return LanguageModelData(
            train=train,
            validation=validation,
            validation_sample=validation.shard(num_shards=stride, index=0),
            characters_per_token=characters_per_token,
            tokens_per_example=sequence_length,
            bytes_per_token=bytes_per_token,
        )

    def evaluation_data(self, documents, tokenizer, lengths, batch_size):
        """`(dataset, characters_per_token)` scoring every token of the documents' text (joined
        as `Corpus.split_text` joins them) once."""
        text = DOCUMENT_SEPARATOR.join(d.text.strip("\n") for d in documents)
        ids = tokenize_corpus_text(tokenizer, text)
        return (lm_dataset(ids, lengths, batch_size, windows="eval"),
                len(text) / max(len(ids), 1))

    def loss(self, label_smoothing=0.0):
        return MaskedCrossEntropy(label_smoothing=label_smoothing)

    def training_loss(self, train_config, tokenizer=None):
        """`train.loss` (cross-entropy, squared error or Hui and Belkin's square loss) with
        the unlikelihood and word penalties of `train` (`tfllm.tasks.training_objective`)."""
        return language_model_objective(train_config, tokenizer)

    def metrics(self, characters_per_token, bytes_per_token=None):
        """Perplexity, bits per character, bits per byte (when `bytes_per_token` of the
        evaluated text is given) and accuracy."""
        per_byte = [] if bytes_per_token is None else [BitsPerByte(bytes_per_token=bytes_per_token)]
        return [Perplexity(), BitsPerCharacter(characters_per_token=characters_per_token),
                *per_byte, MaskedAccuracy()]

    def summarize(self, metrics):
        """Loss (mean nats per token), perplexity, bits per character, bits per byte (where
        `metrics` has it), accuracy and tokens, all from the state of the metrics `metrics(...)`
        made, after an evaluation."""
        by_name = {metric.name: metric for metric in metrics}
        perplexity = by_name["perplexity"]
        tokens = float(perplexity.total_weight.numpy())
        if tokens <= 0:
            raise ValueError(
                "The evaluation held no weighted tokens (an empty dataset, or every weight 0). "
                f"Received: {tokens} tokens"
            )
        loss = float(perplexity.mean().numpy())
        summary = {
            "loss": loss,
            "perplexity": math.exp(min(loss, 700.0)),
            "bits_per_character": float(by_name["bits_per_character"].result().numpy()),
        }
        if "bits_per_byte" in by_name:
            summary["bits_per_byte"] = float(by_name["bits_per_byte"].result().numpy())
        return {**summary, "accuracy": float(by_name["accuracy"].result().numpy()),
                "tokens": int(round(tokens))}

    def describe(self, summary):
        per_byte = (f", bits/byte {summary['bits_per_byte']:.4f}"
                    if "bits_per_byte" in summary else "")
        return (f"loss {summary['loss']:.4f} nats/token, perplexity {summary['perplexity']:.3f}, "
                f"bits/char {summary['bits_per_character']:.4f}{per_byte}")

    def sample(self, model, tokenizer, train_config):
        if train_config.sample_length <= 0:
            return None
        return train_config.sample_prompt + generate(
            model, tokenizer, train_config.sample_prompt,
            max_new_tokens=train_config.sample_length,
            temperature=train_config.sample_temperature,
            top_k=train_config.sample_top_k,
            seed=train_config.seed,
        )
