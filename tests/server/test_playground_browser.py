"""The playground page in a real headless browser, against a real `tfllm serve` process.

Chromium and its WebDriver are Debian's (`.ci/install-browser` installs them); Selenium is given
both paths, so Selenium Manager never looks for, or downloads, a browser of its own. Where
either binary or the `selenium` package is missing the tests are skipped, saying how to
install them.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL = "install them with `apt-get install chromium chromium-driver` (or .ci/install-browser)"
SERVER_START_S = 60
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Containers often give /dev/shm 64 MB, too little for Chromium's shared memory.
    "--disable-dev-shm-usage",
)


_MISSING = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
if _MISSING:  # at collection, so a machine without a browser never trains the smoke model here
    pytest.skip(f"{' and '.join(_MISSING)} not found: {INSTALL}", allow_module_level=True)
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _wait_for_health(url, process, log_file):
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`tfllm serve` exited with {process.returncode}:\n"
                        f"{log_file.read_text()[-3000:]}")
        try:
            if _get_json(f"{url}/health", timeout=1)["status"] == "ok":
                return
        except (OSError, ValueError):
            time.sleep(0.2)
    pytest.fail(f"`tfllm serve` did not answer /health within {SERVER_START_S} s:\n"
                f"{log_file.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_window_size(1280, 1000)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(smoke_run, tmp_path_factory):
    """`tfllm serve` on the smoke model, as a user starts it; yields (base URL, model dir, log)."""
    model_dir, _, _ = smoke_run
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_file = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log_file, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tfllm.cli.main", "serve", "--model", str(model_dir),
             "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_health(url, process, log_file)
        yield url, model_dir, log_file
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _finder(browser):
    return lambda element_id: browser.find_element(By.ID, element_id)


def _open_playground(browser, url):
    """Opens the page and waits until it has loaded the model; returns `find(element_id)`."""
    browser.get(f"{url}/")
    find = _finder(browser)
    WebDriverWait(browser, 10).until(lambda _: find("generate").is_enabled())
    return find


def _wait_for(browser, server, seconds, condition):
    """Waits for `condition(find)`; on timeout fails with what the page and the server show."""
    find = _finder(browser)
    try:
        WebDriverWait(browser, seconds).until(lambda _: condition(find))
    except TimeoutException:
        pytest.fail(f"the page did not get there in {seconds} s: error={find('error').text!r} "
                    f"stats={find('stats').text!r} output={find('output').text[:200]!r}\n"
                    f"server log:\n{server[2].read_text()[-3000:]}")


def _type(element, text):
    element.clear()
    element.send_keys(text)


def test_the_page_shows_the_card_and_streams_what_the_api_returns(browser, server):
    url, model_dir, _ = server
    find = _open_playground(browser, url)
    card = find("card")
    parameters = json.loads((model_dir / "tfllm.json").read_text())["parameters"]
    assert f"Parameters: {parameters:,}" in card.text
    assert card.find_elements(By.CSS_SELECTOR, "table td")  # the held-out metrics table

    _type(find("prompt"), "ROMEO:")
    _type(find("max_new_tokens"), "40")
    _type(find("temperature"), "0")  # greedy, so the API must give the same text below
    find("generate").click()
    _wait_for(browser, server, 60, lambda find: "tokens/s" in find("stats").text)
    streamed = find("output").get_property("textContent")
    stats = find("stats").text

    request = urllib.request.Request(
        f"{url}/v1/generate", headers={"Content-Type": "application/json"},
        data=json.dumps({"prompts": ["ROMEO:"], "max_new_tokens": 40, "temperature": 0,
                         "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.0}).encode())
    with urllib.request.urlopen(request, timeout=60) as response:
        completion = json.loads(response.read())["completions"][0]
    assert streamed and streamed == completion["text"]
    assert re.match(rf"Done: {completion['num_tokens']} tokens in [\d.]+ s, [\d.]+ tokens/s", stats)
    assert f"finish reason: {completion['finish_reason']}" in stats
    assert not find("error").is_displayed() and find("generate").is_enabled()


def test_a_request_the_server_refuses_shows_its_message(browser, server):
    url, _, _ = server
    find = _open_playground(browser, url)
    limit = _get_json(f"{url}/v1/models")["models"][0]["limits"]["max_stop_sequences"]
    _type(find("stop"), "\n".join(f"stop{i}" for i in range(limit + 1)))  # one too many
    find("generate").click()
    _wait_for(browser, server, 10, lambda find: find("error").is_displayed())
    assert "stop" in find("error").text and "(HTTP 422)" in find("error").text
    assert find("output").get_property("textContent") == "" and find("generate").is_enabled()
