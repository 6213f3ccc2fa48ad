"""A bounded load on a running server: N clients for T seconds, then the figures.

Each client is a thread with its own keep-alive connection that sends the same request again
as soon as the last one is answered, until the time is up; every request is counted, answered
or not, so a lost request shows as a failure. `benchmarks/serve.py` and the tests use it.

Example (against a server started with `tfllm serve --port 8080`):

>>> report = load_test("http://127.0.0.1:8080", {"prompts": ["ROMEO:"], "max_new_tokens": 32},
...                    clients=4, seconds=5)  # doctest: +SKIP
>>> report["requests_per_s"], report["latency_s"]["p95"]  # doctest: +SKIP
"""

import http.client
import json
import threading
import time
import urllib.parse

import numpy as np


def load_test(url, body, *, clients, seconds, timeout=300.0):
    """Drives `POST url/v1/generate` with `body` from `clients` threads for `seconds`.

    Returns:
        {"clients", "seconds" (measured), "requests" (sent), "answered" (200), "failed"
         ({status or error name: count}), "requests_per_s", "tokens_per_s" (completion
         tokens of answered requests per second), "latency_s": {"p50", "p95", "p99", "max"}}
    """
    if not 1 <= clients <= 1024:
        raise ValueError(f"clients must be in [1, 1024]. Received: clients={clients}")
    if not 0 < seconds <= 3600:
        raise ValueError(f"seconds must be in (0, 3600]. Received: seconds={seconds}")
    address = urllib.parse.urlsplit(url)
    payload = json.dumps(body).encode()
    results, lock = [], threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def client():
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)
        try:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                outcome = _request(connection, payload)
                with lock:
                    results.append((time.perf_counter() - sent, *outcome))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    answered = [(latency, tokens) for latency, status, tokens in results if status == 200]
    failed = {}
    for _, status, _ in results:
        if status != 200:
            failed[str(status)] = failed.get(str(status), 0) + 1
    latencies = np.array([latency for latency, _ in answered] or [np.nan])
    return {
        "clients": clients,
        "seconds": round(elapsed, 3),
        "requests": len(results),
        "answered": len(answered),
        "failed": failed,
        "requests_per_s": len(answered) / elapsed,
        "tokens_per_s": sum(tokens for _, tokens in answered) / elapsed,
        "latency_s": {name: float(np.percentile(latencies, q))
                      for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
    }


def _request(connection, payload):
    """`(status or error name, completion tokens)` for one request on a kept-alive connection."""
    try:
        connection.request("POST", "/v1/generate", payload,
                           {"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
    except (OSError, http.client.HTTPException) as error:
        connection.close()  # reconnects on the next request
        return type(error).__name__, 0
    if response.status != 200:
        return response.status, 0
    return 200, json.loads(answer)["usage"]["completion_tokens"]
