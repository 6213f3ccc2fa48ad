"""What one `tfllm serve` process allows: request sizes, batching, the queue, timeouts.

Every size a client controls is bounded here, before a request reaches the decoder: the
number of prompts, their length, the new tokens, the stop sequences and the request body. The
server's own sizes (batch rows, queue length) are bounded as well, so a mistyped flag cannot
make the server allocate without limit.

Example:

>>> settings = ServerSettings(max_batch_rows=16, max_queue=16)
>>> settings.max_batch_rows, settings.limits()["max_prompts"]
(16, 8)
"""

import dataclasses

from tfllm.errors import TfllmError
from tfllm.limits import MAX_GENERATION_ROWS, MAX_NEW_TOKENS

# Upper bounds for the flags themselves: far above what a 2-core machine serves usefully, low
# enough that a typo (an extra zero or three) is refused instead of allocated.
MAX_QUEUE = 10_000
MAX_PROMPT_CHARACTERS = 1_000_000
MAX_BODY_BYTES = 64 * 2**20
MAX_STOP_SEQUENCES = 16
MAX_NO_REPEAT_NGRAM = 64
MAX_SECONDS = 24 * 3600.0


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """The server's limits and batching policy (each a `tfllm serve` flag of the same name).

    Attributes:
        max_new_tokens: the most new tokens one request may ask for.
        default_max_new_tokens: what a request that does not say gets.
        max_prompts: prompts per request.
        max_prompt_characters: characters per prompt (a longer prompt is refused, not cut;
            a prompt longer than the model's context is cropped from the left, as in `generate`).
        max_stop_sequences: stop strings per request.
        max_body_bytes: the largest request body read; a larger one is answered 413 unread.
        max_batch_rows: the most prompts decoded in one call, from one or several requests.
        batch_wait_ms: how long the first request of a batch waits for companions.
        max_queue: requests waiting for the decoder; one more is answered 503 at once.
        request_timeout_s: a request still waiting or decoding after this long is answered 504.
        retry_after_s: the Retry-After a 503 carries.
    """

    max_new_tokens: int = 1024
    default_max_new_tokens: int = 200
    max_prompts: int = 8
    max_prompt_characters: int = 4096
    max_stop_sequences: int = 4
    max_body_bytes: int = 65_536
    max_batch_rows: int = 8
    batch_wait_ms: float = 5.0
    max_queue: int = 64
    request_timeout_s: float = 120.0
    retry_after_s: int = 1

    def __post_init__(self):
        _check_int("max_new_tokens", self.max_new_tokens, 1, MAX_NEW_TOKENS)
        _check_int("default_max_new_tokens", self.default_max_new_tokens, 1, self.max_new_tokens)
        _check_int("max_batch_rows", self.max_batch_rows, 1, MAX_GENERATION_ROWS)
        _check_int("max_prompts", self.max_prompts, 1, self.max_batch_rows)
        _check_int("max_prompt_characters", self.max_prompt_characters, 1, MAX_PROMPT_CHARACTERS)
        _check_int("max_stop_sequences", self.max_stop_sequences, 0, MAX_STOP_SEQUENCES)
        _check_int("max_body_bytes", self.max_body_bytes, 1024, MAX_BODY_BYTES)
        _check_int("max_queue", self.max_queue, 1, MAX_QUEUE)
        _check_int("retry_after_s", self.retry_after_s, 1, 3600)
        _check_float("batch_wait_ms", self.batch_wait_ms, 0.0, 10_000.0)
        _check_float("request_timeout_s", self.request_timeout_s, 0.001, MAX_SECONDS)

    def limits(self):
        """The limits a client sees in `/v1/models`."""
        return {
            "max_new_tokens": self.max_new_tokens,
            "max_prompts": self.max_prompts,
            "max_prompt_characters": self.max_prompt_characters,
            "max_stop_sequences": self.max_stop_sequences,
            "max_no_repeat_ngram_size": MAX_NO_REPEAT_NGRAM,
            "max_body_bytes": self.max_body_bytes,
        }


def _check_int(name, value, low, high):
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TfllmError(f"{flag} must be an integer in [{low}, {high:,}]. Received: {flag} {value!r}")


def _check_float(name, value, low, high):
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise TfllmError(f"{flag} must be a number in [{low}, {high:,}]. Received: {flag} {value!r}")
