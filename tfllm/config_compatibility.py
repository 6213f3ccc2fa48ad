"""Configs written by earlier tfllm versions, read by `tfllm.config`.

Before a model was its own config (a class name and its constructor arguments), the model
section named an `architecture` (`gpt` or `lstm`) and held the union of their fields. Model
directories saved then still load: their section converts to the class and the fields its
constructor took.

Plain Python: importable anywhere.

Example:

>>> legacy_model_section({"architecture": "lstm", "sequence_length": 64, "num_heads": 4})
('LSTMLanguageModel', {'sequence_length': 64})
>>> legacy_model_section({"class_name": "GPT"}) is None
True
"""

# Each architecture name and the fields its constructor took.
_LEGACY_ARCHITECTURES = {
    "gpt": ("GPT", ("sequence_length", "num_layers", "num_heads", "hidden_dim",
                    "intermediate_dim", "dropout", "position_encoding", "norm_first",
                    "tie_embeddings")),
    "lstm": ("LSTMLanguageModel", ("sequence_length", "num_layers", "hidden_dim", "dropout")),
}


def legacy_model_section(values):
    """`(class_name, constructor arguments)` of an old model section, or None for a new one."""
    if values.get("architecture") not in _LEGACY_ARCHITECTURES:
        return None
    class_name, fields = _LEGACY_ARCHITECTURES[values["architecture"]]
    return class_name, {key: values[key] for key in fields if key in values}
