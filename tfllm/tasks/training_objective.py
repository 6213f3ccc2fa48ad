"""The training objective of a language model, from the `train` section of a run config.

A language-model task trains with one base loss per token, `train.loss`:

- `cross_entropy` (maximum likelihood; `train.label_smoothing` mixes the target with the
  uniform distribution);
- `squared_error`: the Brier score, sum_v (p_v - onehot_v)^2 of the softmax, the regression
  form of the loss on the model's probabilities;
- `square_loss`: Hui and Belkin, "Evaluation of Neural Architectures Trained with Square Loss
  vs Cross-Entropy in Classification Tasks" (2021): the square loss on the logits, its true
  class's term scaled by `train.square_loss_scale` towards `train.square_loss_target`;

plus, each with its own weight, two penalties from "Neural Text Generation with Unlikelihood
Training" (Welleck et al., 2019): token-level unlikelihood on the tokens already in the window
(`train.unlikelihood`, alpha) and a penalty on the ids of chosen words (`train.penalty_words`,
`train.penalty`, `train.penalty_weight`, lambda). With a penalty the loss is a
`WeightedObjective` whose terms the logs show by name (`cross_entropy`, `unlikelihood`,
`penalty`), next to their weighted sum (`loss`).

Example:

>>> from tfllm.config import TrainConfig
>>> loss = language_model_objective(TrainConfig(unlikelihood=0.5), tokenizer=None)
>>> {name: weight for name, (weight, _) in loss.terms.items()}
{'cross_entropy': 1.0, 'unlikelihood': 0.5}
"""

from tfllm.errors import ConfigError
from tfllm.objectives import (
    ContextPenalty,
    MaskedCrossEntropy,
    MaskedSquaredError,
    TokenSetPenalty,
    WeightedObjective,
)


def base_loss(train_config):
    """The per-token loss `train.loss` names (a language model's: no hinge)."""
    if train_config.loss == "cross_entropy":
        return MaskedCrossEntropy(label_smoothing=train_config.label_smoothing)
    if train_config.loss == "squared_error":
        return MaskedSquaredError(on="probabilities")
    if train_config.loss == "square_loss":
        return MaskedSquaredError(on="logits", scale=train_config.square_loss_scale,
                                  target=train_config.square_loss_target)
    raise ConfigError(
        f"train.loss={train_config.loss} is for classification tasks; a language model trains "
        f"with cross_entropy, squared_error or square_loss. Received: "
        f"train.loss={train_config.loss!r}"
    )


def penalty_token_ids(tokenizer, words):
    """The ids of `words` (comma-separated): each word as written, lower-case, capitalised and
    upper-case, wherever that spelling is one token of the tokenizer. A `ConfigError` names a
    word none of whose spellings is one token (a subword or character tokenizer splits it)."""
    ids = set()
    for word in (w.strip() for w in words.split(",")):
        if not word:
            continue
        found = set()
        for spelling in {word, word.lower(), word.capitalize(), word.upper()}:
            encoded = tokenizer.encode(spelling)
            if len(encoded) == 1 and encoded[0] != tokenizer.unk_id:
                found.add(int(encoded[0]))
        if not found:
            raise ConfigError(
                f"train.penalty_words: {word!r} is not one token of this tokenizer in any "
                f"casing (a word tokenizer keeps whole words; char and subword tokenizers split "
                f"them). Received: train.penalty_words={words!r}"
            )
        ids |= found
    return sorted(ids)


def language_model_objective(train_config, tokenizer):
    """The loss a language-model task compiles: `base_loss`, or a `WeightedObjective` of it
    and the penalties whose weights are above 0 (module docstring). `tokenizer` maps
    `train.penalty_words` to ids (unused without them)."""
    base = base_loss(train_config)
    terms = {}
    if train_config.unlikelihood:
        terms["unlikelihood"] = (train_config.unlikelihood,
                                 ContextPenalty(name="unlikelihood"))
    if train_config.penalty_weight:
        if tokenizer is None:
            raise ConfigError("train.penalty_words needs the run's tokenizer to find their ids")
        ids = penalty_token_ids(tokenizer, train_config.penalty_words)
        terms["penalty"] = (train_config.penalty_weight,
                            TokenSetPenalty(ids, penalty=train_config.penalty, name="penalty"))
    if not terms:
        return base
    return WeightedObjective({train_config.loss: (1.0, base), **terms})
