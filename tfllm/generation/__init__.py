"""Text generation: sampling rules and the `generate` loop. Models know nothing of sampling."""

from tfllm.generation.generate import encode_prompt, generate
from tfllm.generation.sampling import sample_next_token, top_k_filter, validate_sampling_arguments

__all__ = [
    "encode_prompt",
    "generate",
    "sample_next_token",
    "top_k_filter",
    "validate_sampling_arguments",
]
