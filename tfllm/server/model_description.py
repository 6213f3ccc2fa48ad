"""What `GET /v1/models` says about the served model: its card, sizes, metrics and limits."""

import json



def model_description(loaded, settings, defaults):
    """A JSON-ready dict describing a loaded model directory (`tfllm.export.LoadedModel`).

    Args:
        loaded: the model directory in memory.
        settings: the server's `ServerSettings` (its limits are part of the description).
        defaults: the sampling controls a request gets when it does not set them.
    """
    manifest_file = loaded.path / "tfllm.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    card_file = loaded.path / "README.md"
    return {
        "name": loaded.path.name,
        "class_name": type(loaded.model).__name__,
        "task": loaded.config.task,
        "tokenizer": {
            "kind": manifest.get("tokenizer_kind"),
            "vocabulary_size": int(loaded.tokenizer.vocabulary_size),
        },
        "context_length": loaded.model.max_cache_length,
        "parameters": int(loaded.model.count_params()),
        "metrics": loaded.metrics,
        "card": card_file.read_text(encoding="utf-8") if card_file.exists() else "",
        "defaults": defaults,
        "limits": settings.limits(),
    }
