"""Text generation: samplers, logit processors, the compiled cached decoder and beam search.

Models know nothing of sampling: they expose the step-with-cache protocol
(`build_cache`, `call_with_cache`, `max_cache_length`) and `generate` drives it.
"""

from tfllm.generation.beam_search import beam_search
from tfllm.generation.cached_decoder import CachedDecoder, DecodeSpec, default_controls
from tfllm.generation.generate import Generation, generate, get_decoder
from tfllm.generation.prompt_utils import encode_prompt
from tfllm.generation.logit_processors import (
    apply_presence_penalty,
    apply_repetition_penalty,
    banned_sequences_mask,
    no_repeat_ngram_mask,
    suffix_matches,
    top_k_filter,
    top_p_filter,
)
from tfllm.generation.sampling import choose_tokens

__all__ = [
    "CachedDecoder",
    "DecodeSpec",
    "Generation",
    "apply_presence_penalty",
    "apply_repetition_penalty",
    "banned_sequences_mask",
    "beam_search",
    "choose_tokens",
    "default_controls",
    "encode_prompt",
    "generate",
    "get_decoder",
    "no_repeat_ngram_mask",
    "suffix_matches",
    "top_k_filter",
    "top_p_filter",
]
