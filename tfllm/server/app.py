"""The HTTP API over one model directory: `create_app(loaded, settings)` -> a FastAPI app.

Routes (docs/serving.md has the request and answer bodies):

    GET  /              the playground page (static HTML, no external resources)
    GET  /health        {"status": "ok", "model": NAME}
    GET  /v1/models     the model's card, sizes, metrics, the defaults and the limits
    POST /v1/generate   prompts and sampling controls -> continuations, or server-sent events

Every request is decoded by `tfllm.generate`, the project's one decoder, through the `Batcher`
(one decoder thread, a bounded queue, batching of compatible requests). Greedy text over HTTP
is therefore the text `tfllm.generate` returns for the same prompts, streamed or not.

Errors are JSON, `{"error": {"message": ..., "field": ...}}`: 400 for a body that is not JSON,
413 for one over `max_body_bytes`, 422 for a field of the wrong type or out of range (the
message names the field, the allowed range and the value received), 503 with Retry-After when
the queue is full or the server is shutting down, 504 when `request_timeout_s` runs out.

Example (a test client, no network; `loaded` is `tfllm.export.load_model_dir(...)`):

>>> from fastapi.testclient import TestClient  # doctest: +SKIP
>>> with TestClient(create_app(loaded, ServerSettings())) as client:  # doctest: +SKIP
...     client.post("/v1/generate", json={"prompts": ["ROMEO:"], "temperature": 0}).json()
"""

import asyncio
import contextlib
import importlib.resources
import json
import time

import fastapi
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from tfllm.errors import GenerationError, TfllmError
from tfllm.generation import generate
from tfllm.generation.decoding_options import checked_options
from tfllm.generation.prompt_utils import encode_phrases
from tfllm.server.batcher import Batcher, QueueFull, ServerClosing
from tfllm.server.generate_request import RequestError, generate_options, request_parser
from tfllm.server.model_description import model_description
from tfllm.server.server_settings import ServerSettings

PLAYGROUND = "playground.html"


def check_servable(loaded):
    """Refuses a model that does not generate text (a classifier, a masked LM, word2vec)."""
    if not callable(getattr(loaded.model, "build_cache", None)):
        raise TfllmError(
            f"{loaded.path} holds a {type(loaded.model).__name__}, which does not generate text; "
            f"serve a language model or an encoder-decoder model (`tfllm classify` runs a "
            f"classifier). Received: --model {str(loaded.path)!r}")


def warm_up(loaded, settings):
    """Compiles the decoder for a default request, streamed and not, before the server answers.

    A decoding loop is compiled per shape (rows, prompt and new-token buckets) and per set of
    controls switched on (sampling, top-k, top-p, penalties) on first use; on the 2-core
    machine the first streamed request otherwise waited about 19 s for its first character.
    One short prompt with every control at its default is what the playground sends; other
    shapes and controls compile when they first come.
    """
    defaults = generate_options(request_parser(settings)({"prompts": [""]}))
    for stream in (None, lambda row, text: None):
        generate(loaded.model, loaded.tokenizer, [""], stream=stream, **defaults)


def create_app(loaded, settings=None, *, generate_function=generate, on_stopped=None):
    """The FastAPI app serving `loaded` (a `tfllm.export.LoadedModel`).

    Args:
        loaded: the model directory in memory; a language or encoder-decoder model.
        settings: `ServerSettings` (limits, batching, queue, timeouts); defaults if None.
        generate_function: the decoder entry point, `tfllm.generate` (tests slow it down).
        on_stopped: called with the `Batcher` once shutdown has finished every request.
    """
    settings = settings or ServerSettings()
    batcher = Batcher(loaded.model, loaded.tokenizer, settings, generate_function)
    parse = request_parser(settings)
    defaults = generate_options(parse({"prompts": [""]}))
    description = model_description(loaded, settings, {
        key: defaults[key] for key in ("max_new_tokens", "temperature", "top_k", "top_p",
                                       "repetition_penalty")})
    name = description["name"]

    @contextlib.asynccontextmanager
    async def lifespan(_):
        batcher.start()
        try:
            yield
        finally:
            await batcher.close()  # in-flight and queued requests finish first
            if on_stopped is not None:
                on_stopped(batcher)

    # FastAPI's /docs pages load scripts from a CDN, which an offline machine cannot reach.
    app = fastapi.FastAPI(title="tfllm", lifespan=lifespan, docs_url=None, redoc_url=None,
                          openapi_url=None)
    app.state.batcher = batcher

    @app.exception_handler(HTTPException)
    async def http_error(_, error):
        return _error(error.status_code, str(error.detail))

    @app.get("/", response_class=HTMLResponse)
    async def playground():
        page = importlib.resources.files("tfllm.server").joinpath("static", PLAYGROUND)
        return HTMLResponse(page.read_text(encoding="utf-8"))

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": name}

    @app.get("/v1/models")
    async def models():
        return {"models": [description]}

    @app.post("/v1/generate")
    async def generate_text(request: fastapi.Request):
        received = time.monotonic()
        try:
            body = parse(_json(await _read_body(request, settings.max_body_bytes)))
            options = generate_options(body)
            _check_decodable(options, loaded.tokenizer, streaming=body.stream)
            job = batcher.submit(body.prompts, options, streaming=body.stream)
        except RequestError as error:
            return _error(error.status, str(error), error.field)
        except (QueueFull, ServerClosing) as error:
            why = ("the server is shutting down" if isinstance(error, ServerClosing)
                   else f"{settings.max_queue} requests are already waiting")
            return _error(503, f"Busy: {why}. Retry later.",
                          headers={"Retry-After": str(settings.retry_after_s)})
        deadline = received + settings.request_timeout_s
        if body.stream:
            return StreamingResponse(
                _events(batcher, job, deadline), media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        try:
            results = await asyncio.wait_for(asyncio.shield(job.future),
                                             max(deadline - time.monotonic(), 0))
        except TimeoutError:
            batcher.abandon(job)
            return _error(504, f"Timed out after {settings.request_timeout_s:g} s "
                               f"(the server's --request-timeout-s).")
        except GenerationError as error:
            return _error(422, str(error))
        except Exception as error:  # a decoder failure: the client learns it, the server lives
            return _error(500, f"Decoding failed: {type(error).__name__}: {error}")
        finally:
            if not job.future.done():
                batcher.abandon(job)  # the client went away: skip it if it has not started
        return {"model": name, "completions": _completions(results),
                "usage": {"completion_tokens": sum(len(r.token_ids) for r in results)}}

    return app


async def _read_body(request, limit):
    """The body, read only up to `limit` bytes (a larger one is refused unread: 413)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(f"The body has {int(declared):,} bytes; the limit is {limit:,} "
                           f"(the server's --max-body-bytes).", status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(f"The body is over the limit of {limit:,} bytes (the server's "
                               f"--max-body-bytes).", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body):
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(f"The body is not valid JSON ({error}).", status=400) from None


def _check_decodable(options, tokenizer, *, streaming):
    """What `generate` would refuse, refused before queuing (one bad request must never fail
    the batch it would have joined)."""
    try:
        checked_options(num_return_sequences=1, num_beams=1, length_penalty=1.0,
                        streaming=streaming,
                        **{k: v for k, v in options.items() if k != "stop"})
        encode_phrases(tokenizer, options["stop"], "stop")
    except GenerationError as error:
        field = next((name for name in options if str(error).startswith(name)), None)
        raise RequestError(str(error), "stop" if "stop item" in str(error) else field) from None
    if options["top_k"] > tokenizer.vocabulary_size:
        raise RequestError(f"top_k: at most the vocabulary size, {tokenizer.vocabulary_size}. "
                           f"Received: {options['top_k']}", "top_k")


async def _events(batcher, job, deadline):
    """Server-sent events: text as it comes, a finish event per prompt, then [DONE]."""
    finished = False
    try:
        while True:
            try:
                event = await asyncio.wait_for(job.events.get(), max(deadline - time.monotonic(), 0))
            except TimeoutError:
                yield _sse({"error": {"message": "Timed out (the server's --request-timeout-s)."}})
                return
            if event is None:
                break
            yield _sse(event)
        try:
            results = job.future.result()
        except Exception as error:  # the stream has started: the error travels as an event
            yield _sse({"error": {"message": str(error)}})
            return
        for completion in _completions(results):
            yield _sse({key: completion[key] for key in ("index", "finish_reason", "num_tokens")})
        yield "data: [DONE]\n\n"
        finished = True
    finally:
        if not finished:
            batcher.abandon(job)


def _sse(payload):
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _completions(results):
    return [{"index": index, "text": result.text, "num_tokens": len(result.token_ids),
             "finish_reason": result.finish_reason} for index, result in enumerate(results)]


def _error(status, message, field=None, headers=None):
    return JSONResponse({"error": {"message": message, "field": field}}, status_code=status,
                        headers=headers)
