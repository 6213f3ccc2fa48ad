"""`tfllm serve`: an HTTP API, server-sent-event streaming and a playground page over a model.

    create_app(loaded, settings)   the FastAPI app over a loaded model directory
    ServerSettings                 limits, batching, queue and timeouts
    Batcher                        the bounded queue and the one decoder thread

See docs/serving.md for the API; the TF Serving path (the exported SavedModel) is
docs/tf_serving.md.

The names are imported on first use: `tfllm serve` checks its flags with `ServerSettings`
before TensorFlow is imported (quietly, by `tfllm.cli.tensorflow_startup`), and `app` imports
TensorFlow through the decoder.
"""

import importlib

_EXPORTS = {
    "create_app": "tfllm.server.app",
    "check_servable": "tfllm.server.app",
    "Batcher": "tfllm.server.batcher",
    "QueueFull": "tfllm.server.batcher",
    "ServerClosing": "tfllm.server.batcher",
    "ServerSettings": "tfllm.server.server_settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tfllm.server' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
