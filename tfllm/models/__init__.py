"""Language models built from `tfllm.layers`.

- `GPT`: decoder-only Transformer with a fixed-shape KV cache for decoding.
- `EncoderDecoderTransformer`: the encoder-decoder Transformer ("Attention Is All You Need",
  2017); `cross_attention_maps` reads where its target tokens looked in the source.
- `GRUSeq2Seq`: the GRU encoder-decoder with attention, its recurrent baseline.
- `LSTMLanguageModel`: the stacked-LSTM baseline.
- `CausalLanguageModel`: their base, and the step-with-cache protocol `tfllm.generation` uses.
- `Seq2SeqLanguageModel`: the base of encoder-decoder models: the source-and-target input dict
  and the same protocol with the source given to `build_cache`.
- `build_model(model_config, vocabulary_size)`: the model a `tfllm.config.ModelConfig` names
  (a registered class and its arguments); `check_model_config`, `model_class`,
  `model_arguments`, `model_classes` check and list them.

Every model takes `{"token_ids": (B, T) int32, "padding_mask": (B, T) bool}` (the mask
optional), returns (B, T, V) float32 logits under any dtype policy, and has `sequence_length`
and `vocabulary_size` attributes; an encoder-decoder model (`Seq2SeqLanguageModel`) also takes
"encoder_token_ids" and "encoder_padding_mask" (B, S) and has `source_length` and
`target_length` instead of `sequence_length`. Importing this package registers every tfllm
layer and model with Keras, so `keras.saving.load_model(path, safe_mode=True)` can rebuild
them.
"""

from tfllm.models.attention_maps import cross_attention_maps
from tfllm.models.causal_language_model import CausalLanguageModel
from tfllm.models.encoder_decoder_transformer import EncoderDecoderTransformer
from tfllm.models.gpt import GPT
from tfllm.models.gru_seq2seq import GRUSeq2Seq
from tfllm.models.lstm_language_model import LSTMLanguageModel
from tfllm.models.model_factory import (
    build_model,
    check_model_config,
    model_arguments,
    model_class,
    model_classes,
)
from tfllm.models.pretrained_embeddings import PretrainedEmbeddingReport, load_pretrained_embeddings
from tfllm.models.seq2seq_language_model import Seq2SeqLanguageModel
from tfllm.models.word2vec import Word2Vec

__all__ = ["CausalLanguageModel", "EncoderDecoderTransformer", "Seq2SeqLanguageModel", "GPT",
           "LSTMLanguageModel", "build_model", "check_model_config", "model_arguments",
           "model_class", "model_classes", "PretrainedEmbeddingReport", "Word2Vec",
           "load_pretrained_embeddings", "GRUSeq2Seq", "cross_attention_maps"]
