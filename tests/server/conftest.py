"""A real HTTP server on loopback, in this process: uvicorn on a thread, over `create_app`.

In-process, so a test can compare the answers with `tfllm.generate` on the same loaded model
and slow the decoder down to fill the queue; over a real socket, so everything a client meets
(status codes, headers, server-sent events, body limits) is what `tfllm serve` answers.
"""

import http.client
import json
import threading
import time

import pytest


class RunningServer:
    def __init__(self, app, sock):
        import uvicorn

        self.app = app
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                                    timeout_graceful_shutdown=30))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def request(self, method, path, body=None, *, raw=None, headers=None, timeout=120):
        """`(status, headers, body text)`; `body` is sent as JSON, `raw` as given."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = raw if raw is not None else (json.dumps(body) if body is not None else None)
            connection.request(method, path, data, headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            connection.close()

    def generate(self, body, **kwargs):
        status, headers, text = self.request("POST", "/v1/generate", body, **kwargs)
        return status, headers, (json.loads(text) if text.startswith("{") else text)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=60)


@pytest.fixture(scope="session")
def served_model(smoke_run):
    """The smoke preset's trained model directory, loaded once."""
    from tfllm.export import load_model_dir

    return load_model_dir(smoke_run[0])


@pytest.fixture
def start_server():
    """`start_server(loaded, settings=None, generate_function=None)` -> a `RunningServer`,
    stopped (gracefully) at the end of the test."""
    from tfllm.cli.listening_socket import listening_socket
    from tfllm.server import create_app

    servers = []

    def start(loaded, settings=None, generate_function=None):
        extra = {} if generate_function is None else {"generate_function": generate_function}
        server = RunningServer(create_app(loaded, settings, **extra),
                               listening_socket("127.0.0.1", 0))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
