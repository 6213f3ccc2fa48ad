"""`Seq2Seq`: map a source text to a target text, the task of the encoder-decoder models.

Data: `(source, target)` pairs (a subclass says how they come from a corpus), tokenized with one
shared tokenizer into the pair pipeline (`tfllm.data.pair_dataset`): teacher forcing (the
decoder reads the target shifted right after the start id and predicts it followed by the end
id), length buckets so a batch pads to the nearest of a few lengths. Loss: `MaskedCrossEntropy`
over real target tokens. Metrics: perplexity and token accuracy under teacher forcing; after
training and in `tfllm evaluate`, `decoded_report` decodes every source greedily and scores the
outputs against the references with corpus BLEU (sacreBLEU's default variant) and whatever the
subclass adds.
"""


from tfllm.data import Document, pair_dataset
from tfllm.errors import ConfigError
from tfllm.generation import generate
from tfllm.models import Seq2SeqLanguageModel
from tfllm.objectives import MaskedAccuracy, MaskedCrossEntropy, Perplexity, corpus_bleu
from tfllm.tasks.task import Task, task_data, weighted_report

# Target lengths at which training batches are cut (as fractions of target_length): a batch
# pads to the first boundary that holds its longest pair, not to target_length.
_BUCKET_FRACTIONS = (0.25, 0.5, 0.75, 1.0)
# Rows decoded at once by `decoded_report`.
_DECODE_BATCH = 64


class Seq2Seq(Task):
    """Map each source text to its target text (see the module docstring).

    A subclass sets `name` and implements `pairs(documents)`; it may extend `decoded_report`.
    """

    input_kind = "input"

    def pairs(self, documents):
        """`[(source, target), ...]` (objects with `.source` and `.target`) of `documents`."""
        raise NotImplementedError

    def lengths(self, model_arguments):
        """`(source_length, target_length)` from the model's constructor arguments."""
        lengths = []
        for name in ("source_length", "target_length"):
            value = model_arguments.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 2:
                raise ConfigError(
                    f"task {self.name} needs the model's {name}, an integer >= 2: set "
                    f"model.{name}. Received: model.{name}={value!r}"
                )
            lengths.append(value)
        return tuple(lengths)

    def check_model(self, model):
        if not isinstance(model, Seq2SeqLanguageModel):
            raise ConfigError(
                f"task {self.name} trains an encoder-decoder model "
                f"(tfllm.models.Seq2SeqLanguageModel: EncoderDecoderTransformer, GRUSeq2Seq). "
                f"Received: model.class_name={type(model).__name__!r}"
            )

    def prepare_data(self, corpus, tokenizer, lengths, data_config, train_config, *,
                     micro_batch_size, seed):
        source_length, target_length = lengths
        boundaries = sorted({max(2, int(target_length * f)) for f in _BUCKET_FRACTIONS})
        train = pair_dataset(
            self.pairs(corpus.documents("train")), tokenizer, source_length=source_length,
            target_length=target_length, batch_size=micro_batch_size, shuffle=True, seed=seed,
            repeat=True, bucket_boundaries=boundaries)
        validation_pairs = self.pairs(corpus.documents("validation"))
        validation = self._evaluation_pipeline(validation_pairs, tokenizer, lengths,
                                               train_config.batch_size)
        return task_data(
            train, validation, eval_batches=train_config.eval_batches,
            characters_per_token=_characters_per_token(validation_pairs, tokenizer),
            # Throughput counts target positions, as the seq2seq benchmarks do.
            tokens_per_example=target_length,
        )

    def _evaluation_pipeline(self, pairs, tokenizer, lengths, batch_size):
        source_length, target_length = lengths
        return pair_dataset(pairs, tokenizer, source_length=source_length,
                            target_length=target_length, batch_size=batch_size)

    def evaluation_data(self, documents, tokenizer, lengths, batch_size):
        """`(dataset, characters_per_token)` scoring every pair of the documents once."""
        pairs = self.checked_pairs(documents)
        return (self._evaluation_pipeline(pairs, tokenizer, lengths, batch_size),
                _characters_per_token(pairs, tokenizer))

    def checked_pairs(self, documents):
        """`pairs(documents)`, refusing documents that hold none."""
        pairs = self.pairs(documents)
        if not pairs:
            names = ", ".join(d.name for d in documents[:3])
            raise ConfigError(f"task {self.name} found no pairs in the text ({names}). "
                              f"Received: {len(documents)} document(s) with no usable lines")
        return pairs

    def pairs_of_text(self, text):
        """The pairs of one text."""
        return self.checked_pairs([Document(name="text", text=text)])

    def loss(self, label_smoothing=0.0):
        return MaskedCrossEntropy(label_smoothing=label_smoothing)

    def metrics(self, characters_per_token):
        return [Perplexity(), MaskedAccuracy()]

    def summarize(self, metrics):
        """Loss (mean nats per target token under teacher forcing), perplexity, token accuracy
        and target tokens, from the state of the metrics `metrics(...)` made."""
        return weighted_report(metrics, "tokens")

    def describe(self, summary):
        text = (f"loss {summary['loss']:.4f} nats/token, perplexity {summary['perplexity']:.3f}, "
                f"token accuracy {summary['accuracy']:.4f}")
        if "bleu" in summary:
            text += f", BLEU {summary['bleu']:.2f}"
        return text

    def decoded_report(self, model, tokenizer, documents, *, num_beams=1, limit=None):
        """Decodes the sources of the documents' pairs and scores the outputs against their
        targets.

        Args:
            model, tokenizer: a trained encoder-decoder model and its tokenizer.
            documents: `tfllm.data.Document`s.
            num_beams: 1 for greedy decoding, more for beam search.
            limit: score only the first `limit` pairs (None: all).
        Returns:
            `{"bleu": corpus BLEU, "pairs": how many were decoded}` plus `extra_scores`.
        """
        pairs = self.checked_pairs(documents)[:limit]
        hypotheses = self.decode(model, tokenizer, [p.source for p in pairs], num_beams=num_beams)
        references = [p.target for p in pairs]
        report = {"bleu": corpus_bleu(hypotheses, references).score, "pairs": len(pairs)}
        report.update(self.extra_scores(hypotheses, references))
        return report

    def extra_scores(self, hypotheses, references):
        """What a subclass scores beyond BLEU (a dict of floats)."""
        return {}

    @staticmethod
    def decode(model, tokenizer, sources, *, num_beams=1):
        """The model's outputs for `sources`, in batches, greedy (or beam search)."""
        outputs = []
        for start in range(0, len(sources), _DECODE_BATCH):
            outputs += generate(model, tokenizer, list(sources[start:start + _DECODE_BATCH]),
                                temperature=0.0, num_beams=num_beams, seed=0)
        return outputs

    def sample(self, model, tokenizer, train_config):
        if train_config.sample_length <= 0:
            return None
        source = train_config.sample_prompt
        return f"{source} -> {generate(model, tokenizer, source, temperature=0.0, seed=0)}"


def _characters_per_token(pairs, tokenizer):
    """Characters of the targets per target token (for comparing tokenizers)."""
    targets = [pair.target for pair in pairs]
    tokens = sum(len(ids) for ids in tokenizer.tokenize(targets).to_list()) if targets else 0
    return sum(len(t) for t in targets) / max(tokens, 1)
