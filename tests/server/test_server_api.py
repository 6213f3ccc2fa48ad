"""`tfllm serve`'s API over real HTTP on loopback: answers equal `tfllm.generate`, bad requests
get a 4xx that names the field, and the queue, batching and timeouts hold under load."""

import json
import threading
import time

import pytest

from tfllm.generation import generate
from tfllm.server import ServerSettings
from tfllm.server.load_test import load_test

PROMPTS = ["ROMEO:", "JULIET:\nO Romeo, Romeo!", ""]


def _stream_events(text):
    return [line[len("data: "):] for line in text.split("\n\n") if line.startswith("data: ")]


def test_greedy_text_over_http_equals_generate_streamed_or_not(served_model, start_server):
    server = start_server(served_model)
    body = {"prompts": PROMPTS, "max_new_tokens": 30, "temperature": 0, "stop": ["\n\n"]}
    status, _, answer = server.generate(body)
    assert status == 200, answer
    expected = generate(served_model.model, served_model.tokenizer, PROMPTS, max_new_tokens=30,
                        temperature=0, stop=["\n\n"], return_details=True)
    assert [c["text"] for c in answer["completions"]] == [g.text for g in expected]
    assert [c["finish_reason"] for c in answer["completions"]] == [g.finish_reason for g in expected]
    assert answer["usage"]["completion_tokens"] == sum(len(g.token_ids) for g in expected)

    status, headers, text = server.generate({**body, "stream": True})
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = _stream_events(text)
    assert events[-1] == "[DONE]"
    streamed = ["", "", ""]
    finish = {}
    for event in map(json.loads, events[:-1]):
        if "text" in event:
            streamed[event["index"]] += event["text"]
        else:
            finish[event["index"]] = event["finish_reason"]
    assert streamed == [g.text for g in expected]
    assert [finish[i] for i in range(3)] == [g.finish_reason for g in expected]
    assert sum(1 for e in events[:-1] if "text" in json.loads(e)) > 3  # text came in pieces


def test_a_seeded_sample_equals_generate_with_that_seed(served_model, start_server):
    server = start_server(served_model)
    body = {"prompts": ["ROMEO:"], "max_new_tokens": 20, "temperature": 0.9, "top_p": 0.9,
            "seed": 7}
    expected = generate(served_model.model, served_model.tokenizer, ["ROMEO:"], max_new_tokens=20,
                        temperature=0.9, top_p=0.9, seed=7)
    assert [server.generate(body)[2]["completions"][0]["text"] for _ in range(2)] == expected * 2


def test_model_description_health_and_page(served_model, start_server):
    server = start_server(served_model)
    assert json.loads(server.request("GET", "/health")[2]) == {"status": "ok", "model": "model"}
    model = json.loads(server.request("GET", "/v1/models")[2])["models"][0]
    assert model["class_name"] == "GPT" and model["context_length"] == 32
    assert model["tokenizer"] == {"kind": "char", "vocabulary_size": 85}
    assert model["parameters"] == served_model.model.count_params()
    assert model["metrics"]["bits_per_character"] > 0 and model["card"].startswith("# model")
    assert model["limits"]["max_new_tokens"] == 1024
    status, headers, page = server.request("GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "/v1/generate" in page and "http://" not in page.replace("http://127", "")
    status, _, text = server.request("GET", "/nowhere")
    assert status == 404 and json.loads(text)["error"]["message"]


BAD_REQUESTS = {
    "not json": (b'{"prompts": ["x"', 400, None),
    "not an object": (b'["ROMEO:"]', 422, None),
    "no prompts": ({"max_new_tokens": 5}, 422, "prompts"),
    "empty prompts": ({"prompts": []}, 422, "prompts"),
    "prompt not a string": ({"prompts": [5]}, 422, "prompts.0"),
    "number as a string": ({"prompts": ["x"], "max_new_tokens": "5"}, 422, "max_new_tokens"),
    "too many tokens": ({"prompts": ["x"], "max_new_tokens": 1025}, 422, "max_new_tokens"),
    "zero tokens": ({"prompts": ["x"], "max_new_tokens": 0}, 422, "max_new_tokens"),
    "temperature": ({"prompts": ["x"], "temperature": -1}, 422, "temperature"),
    "top_p": ({"prompts": ["x"], "top_p": 0}, 422, "top_p"),
    "top_k over the vocabulary": ({"prompts": ["x"], "top_k": 86}, 422, "top_k"),
    "over-long prompt": ({"prompts": ["x" * 4097]}, 422, "prompts.0"),
    "too many prompts": ({"prompts": ["x"] * 9}, 422, "prompts"),
    "unknown field": ({"prompts": ["x"], "temprature": 0.5}, 422, "temprature"),
    "unspellable stop": ({"prompts": ["x"], "stop": ["\u00e9\u00e9"]}, 422, "stop"),
    "negative seed": ({"prompts": ["x"], "seed": -1}, 422, "seed"),
    "more minimum than maximum": ({"prompts": ["x"], "max_new_tokens": 5, "min_new_tokens": 6},
                                  422, "min_new_tokens"),
}


def test_bad_requests_get_a_4xx_naming_the_field(served_model, start_server):
    server = start_server(served_model)
    for name, (body, expected_status, field) in BAD_REQUESTS.items():
        raw = body if isinstance(body, bytes) else None
        status, _, answer = server.generate(None if raw else body, raw=raw)
        assert status == expected_status, (name, answer)
        assert answer["error"]["field"] == field, (name, answer)
        message = answer["error"]["message"]
        assert message and "\n" not in message, (name, message)
        if field and "." not in field:
            assert field in message, (name, message)
    status, _, answer = server.generate(None, raw=json.dumps({"prompts": ["x" * 70_000]}))
    assert status == 413 and "--max-body-bytes" in answer["error"]["message"]
    assert server.generate({"prompts": ["ROMEO:"], "max_new_tokens": 3})[0] == 200  # still serving


def _slow(seconds, calls):
    def slow_generate(model, tokenizer, prompts, **options):
        calls.append(len(prompts))
        time.sleep(seconds)
        return generate(model, tokenizer, prompts, **options)
    return slow_generate


def test_concurrent_requests_share_decoder_calls_and_none_is_lost(served_model, start_server):
    calls = []
    server = start_server(served_model, ServerSettings(max_batch_rows=8, batch_wait_ms=50),
                          _slow(0.3, calls))
    body = {"prompts": ["ROMEO:"], "max_new_tokens": 8, "temperature": 0}
    assert server.generate(body)[0] == 200  # compiles the one-row shape before the clock runs
    report = load_test(server.url, body, clients=6, seconds=3)
    assert report["failed"] == {} and report["answered"] == report["requests"] >= 6
    assert report["latency_s"]["p50"] <= report["latency_s"]["p95"] <= report["latency_s"]["p99"]
    assert report["tokens_per_s"] == pytest.approx(8 * report["requests_per_s"])
    # Six clients, 0.3 s per decoder call: batching is what lets them all be answered.
    assert len(calls) - 1 < report["requests"] and max(calls) >= 4


def test_a_full_queue_answers_503_and_recovers(served_model, start_server):
    calls = []
    server = start_server(served_model, ServerSettings(max_queue=2, batch_wait_ms=0,
                                                       max_batch_rows=1, max_prompts=1),
                          _slow(0.5, calls))
    results = []

    def client():
        results.append(server.generate({"prompts": ["ROMEO:"], "max_new_tokens": 4,
                                        "temperature": 0}))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _, _ in results)
    assert 200 in statuses and 503 in statuses and set(statuses) == {200, 503}
    busy = next(answer for status, headers, answer in results if status == 503)
    assert "Retry" in busy["error"]["message"]
    assert all(headers.get("retry-after") == "1" for status, headers, _ in results if status == 503)
    assert server.generate({"prompts": ["ROMEO:"], "max_new_tokens": 4})[0] == 200


def test_a_request_out_of_time_gets_504_and_leaves_the_queue(served_model, start_server):
    calls = []
    server = start_server(served_model, ServerSettings(request_timeout_s=0.3, batch_wait_ms=0,
                                                       max_batch_rows=1, max_prompts=1),
                          _slow(1.0, calls))
    results = []
    threads = [threading.Thread(target=lambda: results.append(server.generate(
        {"prompts": ["ROMEO:"], "max_new_tokens": 4}))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _, _ in results] == [504] * 3
    assert "--request-timeout-s" in results[0][2]["error"]["message"]
    time.sleep(1.2)
    assert len(calls) == 1  # the two that timed out while queued never reached the decoder


def test_shutdown_finishes_the_request_in_flight(served_model, start_server):
    server = start_server(served_model, generate_function=_slow(1.0, []))
    results = []
    client = threading.Thread(target=lambda: results.append(server.generate(
        {"prompts": ["ROMEO:"], "max_new_tokens": 5, "temperature": 0})))
    client.start()
    time.sleep(0.3)
    server.stop()
    client.join()
    assert results[0][0] == 200 and results[0][2]["completions"][0]["num_tokens"] == 5
    assert not server.thread.is_alive()
