"""`python -m tfllm ...` is the same as the `tfllm` console script."""

from tfllm.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
