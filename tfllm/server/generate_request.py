"""The body of `POST /v1/generate`: parsed, type-checked and range-checked before it is queued.

Pydantic checks the JSON (strict types: `"5"` is not a number, unknown fields are refused);
the ranges come from the server's `ServerSettings`. A bad field becomes one message that names
the field, what it must be and what was received, which the server answers with 422.

Example:

>>> from tfllm.server.server_settings import ServerSettings
>>> parse = request_parser(ServerSettings())
>>> parse({"prompts": ["ROMEO:"], "temperature": 0}).max_new_tokens
200
>>> try:
...     parse({"prompts": ["ROMEO:"], "temperature": 50})
... except RequestError as error:
...     print(error.status, error)
422 temperature: Input should be less than or equal to 10. Received: 50
"""

from typing import Annotated

import pydantic

from tfllm.server.server_settings import MAX_NO_REPEAT_NGRAM

# Sampling controls beyond these change nothing a user can see but can overflow in float32.
MAX_TEMPERATURE = 10.0
MAX_PENALTY = 10.0


class RequestError(ValueError):
    """A request the client can fix: `field` names the part of the body at fault (or None)."""

    def __init__(self, message, field=None, status=422):
        super().__init__(message)
        self.field = field
        self.status = status


def request_parser(settings):
    """A function `parse(obj) -> request` for JSON bodies already decoded to Python objects."""
    prompt = Annotated[str, pydantic.StringConstraints(max_length=settings.max_prompt_characters)]
    fields = {
        "prompts": (Annotated[list[prompt], pydantic.Field(min_length=1,
                                                           max_length=settings.max_prompts)], ...),
        "max_new_tokens": (Annotated[int, pydantic.Field(ge=1, le=settings.max_new_tokens)],
                           settings.default_max_new_tokens),
        "min_new_tokens": (Annotated[int, pydantic.Field(ge=0, le=settings.max_new_tokens)], 0),
        "temperature": (Annotated[float, pydantic.Field(ge=0.0, le=MAX_TEMPERATURE)], 0.8),
        "top_k": (Annotated[int, pydantic.Field(ge=0)], 0),
        "top_p": (Annotated[float, pydantic.Field(gt=0.0, le=1.0)], 1.0),
        "repetition_penalty": (Annotated[float, pydantic.Field(gt=0.0, le=MAX_PENALTY)], 1.0),
        "presence_penalty": (Annotated[float, pydantic.Field(ge=-MAX_PENALTY, le=MAX_PENALTY)],
                             0.0),
        "frequency_penalty": (Annotated[float, pydantic.Field(ge=-MAX_PENALTY, le=MAX_PENALTY)],
                              0.0),
        "no_repeat_ngram_size": (Annotated[int, pydantic.Field(ge=0, le=MAX_NO_REPEAT_NGRAM)], 0),
        "stop": (Annotated[list[Annotated[str, pydantic.StringConstraints(min_length=1,
                                                                          max_length=64)]],
                           pydantic.Field(max_length=settings.max_stop_sequences)], []),
        "seed": (Annotated[int, pydantic.Field(ge=0, le=2**31 - 1)] | None, None),
        "stream": (bool, False),
    }
    model = pydantic.create_model(
        "GenerateRequest",
        __config__=pydantic.ConfigDict(strict=True, extra="forbid", frozen=True),
        **fields,
    )

    def parse(obj):
        if not isinstance(obj, dict):
            raise RequestError(
                f"The body must be a JSON object with a 'prompts' list. Received: "
                f"{type(obj).__name__}", status=422)
        try:
            return model.model_validate(obj)
        except pydantic.ValidationError as error:
            raise _first_problem(error) from None

    return parse


def _first_problem(error):
    """One `RequestError` from pydantic's list: the first field at fault, named."""
    problem = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in problem["loc"]) or None
    if problem["type"] == "extra_forbidden":
        return RequestError(f"{field}: not a field of this request (see GET /v1/models and the "
                            f"docs for the fields)", field)
    if problem["type"] == "missing":
        return RequestError(f"{field}: required", field)
    received = repr(problem.get("input"))
    if len(received) > 80:
        received = received[:77] + "..."
    return RequestError(f"{field}: {problem['msg']}. Received: {received}", field)


def generate_options(request):
    """The request's `tfllm.generate` keyword arguments (all but the prompts and streaming)."""
    return {
        "max_new_tokens": request.max_new_tokens,
        "min_new_tokens": request.min_new_tokens,
        "temperature": request.temperature,
        "top_k": request.top_k,
        "top_p": request.top_p,
        "repetition_penalty": request.repetition_penalty,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
        "no_repeat_ngram_size": request.no_repeat_ngram_size,
        "stop": tuple(request.stop),
        "seed": request.seed,
    }
