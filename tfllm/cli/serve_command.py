"""`tfllm serve`: the HTTP API and the playground page over a model directory.

The listening socket is bound before TensorFlow is imported, so a port in use is refused in a
second, in one line. The server binds 127.0.0.1 unless `--host` says otherwise: it has no
authentication, so reaching it from other machines is a choice the user makes. Ctrl-C or
SIGTERM stops taking connections, lets the requests in flight finish (up to the request
timeout), then exits 0.
"""

import sys

from tfllm.cli.argument_types import bounded, non_negative_int, positive_int
from tfllm.cli.tensorflow_startup import import_tensorflow

non_negative_float = bounded(float, 0.0, "a number >= 0")
positive_float = bounded(float, 1e-3, "a number >= 0.001")


def register(commands):
    serve = commands.add_parser(
        "serve", help="serve a model over HTTP: a JSON API, streaming, a playground page")
    serve.add_argument("--model", required=True, help="a model directory")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1, this machine only; the "
                            "server has no authentication)")
    serve.add_argument("--port", type=non_negative_int, default=8080,
                       help="port (default 8080; 0 picks a free one and prints it)")
    serve.add_argument("--max-new-tokens", type=positive_int, default=1024,
                       help="the most new tokens one request may ask for (default 1,024)")
    serve.add_argument("--default-max-new-tokens", type=positive_int, default=200,
                       help="new tokens for a request that does not say (default 200)")
    serve.add_argument("--max-prompts", type=positive_int, default=8,
                       help="prompts per request (default 8; at most --max-batch-rows)")
    serve.add_argument("--max-prompt-characters", type=positive_int, default=4096,
                       help="characters per prompt (default 4,096)")
    serve.add_argument("--max-stop-sequences", type=non_negative_int, default=4)
    serve.add_argument("--max-body-bytes", type=positive_int, default=65_536,
                       help="the largest request body (default 64 KiB; a larger one gets 413)")
    serve.add_argument("--max-batch-rows", type=positive_int, default=8,
                       help="prompts decoded in one call, from one or several requests "
                            "(default 8; 1 turns batching off)")
    serve.add_argument("--batch-wait-ms", type=non_negative_float, default=5.0,
                       help="how long a request waits for others to batch with (default 5)")
    serve.add_argument("--max-queue", type=positive_int, default=64,
                       help="requests waiting for the decoder; one more gets 503 (default 64)")
    serve.add_argument("--request-timeout-s", type=positive_float, default=120.0,
                       help="a request not answered after this long gets 504 (default 120)")
    serve.add_argument("--access-log", action="store_true", help="log every request on stdout")
    serve.add_argument("--no-warm-up", action="store_true",
                       help="start answering at once; by default the decoder is first compiled "
                            "for a default request (streamed and not), so that one is answered "
                            "without a compile wait")
    serve.set_defaults(handler=_serve)


def _serve(args):
    from tfllm.paths import check_model_dir
    from tfllm.cli.listening_socket import listening_socket
    from tfllm.server.server_settings import ServerSettings

    settings = ServerSettings(
        max_new_tokens=args.max_new_tokens, default_max_new_tokens=args.default_max_new_tokens,
        max_prompts=args.max_prompts, max_prompt_characters=args.max_prompt_characters,
        max_stop_sequences=args.max_stop_sequences, max_body_bytes=args.max_body_bytes,
        max_batch_rows=args.max_batch_rows, batch_wait_ms=args.batch_wait_ms,
        max_queue=args.max_queue, request_timeout_s=args.request_timeout_s,
    )
    check_model_dir(args.model)
    sock = listening_socket(args.host, args.port)
    import_tensorflow()
    import uvicorn

    from tfllm.export import load_model_dir
    from tfllm.server.app import check_servable, create_app, warm_up

    loaded = load_model_dir(args.model)
    check_servable(loaded)
    if not args.no_warm_up:
        warm_up(loaded, settings)
    app = create_app(loaded, settings, on_stopped=_stopped)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"Serving {loaded.path.name} at http://{shown}:{port}/ (the playground; the API is "
          f"under /v1, see docs/serving.md). Ctrl-C stops.", flush=True)
    if host not in ("127.0.0.1", "::1", "localhost"):
        print(f"Note: listening on {host}: other machines can reach this server, and it has no "
              f"authentication.", flush=True)
    config = uvicorn.Config(
        app, log_level="warning", access_log=args.access_log, lifespan="on",
        # In-flight requests get their full time to finish before the process exits.
        timeout_graceful_shutdown=int(settings.request_timeout_s) + 5,
    )
    # After a graceful shutdown uvicorn raises the signal that asked for it again, so the exit
    # status says how the server ended: 130 for Ctrl-C, killed by SIGTERM for a service manager.
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _stopped(batcher):
    print(f"Stopped: every request answered ({batcher.batches} decoder calls for "
          f"{batcher.rows} prompts).", file=sys.stdout, flush=True)
