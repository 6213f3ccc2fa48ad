"""Command-line interface: `tfllm train | evaluate | generate | presets`."""
