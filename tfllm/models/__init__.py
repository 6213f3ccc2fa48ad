"""Language models built from `tfllm.layers`.

- `GPT`: decoder-only Transformer with a fixed-shape KV cache for decoding.
- `EncoderDecoderTransformer`: the encoder-decoder Transformer ("Attention Is All You Need",
  2017); `cross_attention_maps` reads where its target tokens looked in the source.
- `GRUSeq2Seq`: the GRU encoder-decoder with attention, its recurrent baseline.
- `LSTMLanguageModel`: the stacked-LSTM baseline.
- `CausalLanguageModel`: their base, and the step-with-cache protocol `tfllm.generation` uses.
- `Seq2SeqLanguageModel`: the base of encoder-decoder models: the source-and-target input dict
  and the same protocol with the source given to `build_cache`.
- `LSTMClassifier`: embedding -> (bidirectional) LSTMs -> (B, C) class logits; the padding
  mask reaches the LSTMs.
- `BagOfWordsClassifier`: the classic baselines on bag-of-words features (tf-idf, counts or
  binary) with a linear head (logistic regression / linear SVM) or an RBF network.
- `BertEncoder`: the BERT-style encoder (embeddings -> `EncoderBlock`s); `BertMaskedLM` adds
  the masked-LM head for pre-training, `BertClassifier` a pooled classification head.
- `SequenceClassifier`: the base of the classifiers: (B, T) ids -> (B, C) class logits.
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
from tfllm.models.bert_classifier import BertClassifier
from tfllm.models.bert_encoder import BertEncoder
from tfllm.models.bert_masked_lm import BertMaskedLM
from tfllm.models.bag_of_words_classifier import BagOfWordsClassifier
from tfllm.models.causal_language_model import CausalLanguageModel
from tfllm.models.encoder_decoder_transformer import EncoderDecoderTransformer
from tfllm.models.gpt import GPT
from tfllm.models.gru_seq2seq import GRUSeq2Seq
from tfllm.models.lstm_classifier import LSTMClassifier
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
from tfllm.models.sequence_classifier import SequenceClassifier
from tfllm.models.word2vec import Word2Vec

__all__ = ["BertClassifier", "BertEncoder", "BertMaskedLM", "SequenceClassifier",
           "CausalLanguageModel", "EncoderDecoderTransformer", "Seq2SeqLanguageModel", "GPT",
           "LSTMLanguageModel", "build_model", "check_model_config", "model_arguments",
           "model_class", "model_classes", "PretrainedEmbeddingReport", "Word2Vec",
           "load_pretrained_embeddings", "GRUSeq2Seq", "cross_attention_maps",
           "LSTMClassifier", "BagOfWordsClassifier"]
