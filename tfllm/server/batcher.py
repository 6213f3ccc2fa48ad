"""Concurrent requests to one decoder: a bounded queue, batching, streaming, timeouts.

The decoder runs on one worker thread, one call at a time (a model's compiled decoding loop
is not meant to run twice at once, and on a CPU two calls would only share the cores). The
event loop stays free meanwhile: it accepts requests, refuses them when the queue is full,
and streams text as the worker produces it.

Batching: when the worker is free, it takes the oldest waiting request, waits up to
`batch_wait_ms` for more, and decodes together every waiting request that asks for the same
controls, up to `max_batch_rows` prompts, in one `generate` call; the rest wait their turn in
order. A request that samples with a fixed seed is decoded alone, so that its seed gives the
text `tfllm.generate` gives for the same prompts (a sampled row's random numbers depend on its
place in the batch). Greedy rows do not depend on their companions: batching never changes
greedy text. The number of rows is rounded up to a power of two (by repeating a prompt) so
that a handful of compiled shapes serve every batch.

A request whose client has gone, or whose time is up, is dropped from the queue; one already
decoding finishes with its batch, and its result is discarded.
"""

import asyncio
import collections
import concurrent.futures
import dataclasses
import time

from tfllm.generation import generate


class QueueFull(Exception):
    """The queue holds `max_queue` requests: answer 503 with Retry-After."""


class ServerClosing(Exception):
    """The server is shutting down: it finishes what it has and takes nothing new."""


@dataclasses.dataclass(eq=False)
class Job:
    """One request in the queue: its prompts, `generate` options, and where results go."""

    prompts: list
    options: dict
    streaming: bool
    future: asyncio.Future
    events: asyncio.Queue | None
    queued_at: float = dataclasses.field(default_factory=time.monotonic)
    abandoned: bool = False

    @property
    def key(self):
        """Requests with equal keys can share one decoder call."""
        return (self.streaming, tuple(sorted(self.options.items())))

    @property
    def batchable(self):
        return self.options["seed"] is None or self.options["temperature"] == 0


class Batcher:
    """Owns the queue and the decoder thread. Start it in the server's event loop.

    Args:
        model, tokenizer: a loaded tfllm language model and its tokenizer.
        settings: the `ServerSettings` (batch rows, wait, queue length).
        generate_function: `tfllm.generate` (tests pass a slower one to fill the queue).
    """

    def __init__(self, model, tokenizer, settings, generate_function=generate):
        self.model, self.tokenizer, self.settings = model, tokenizer, settings
        self._generate = generate_function
        self._pending = collections.deque()
        self._wakeup = None
        self._task = None
        self._closing = False
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="decoder")
        self.batches = 0
        self.rows = 0

    @property
    def waiting(self):
        return sum(not job.abandoned for job in self._pending)

    def start(self):
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._serve())

    async def close(self):
        """Takes no new request, finishes every queued one, then stops the decoder thread."""
        self._closing = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    def submit(self, prompts, options, *, streaming=False):
        """Queues a request and returns its `Job` (its future resolves to `Generation`s)."""
        if self._closing:
            raise ServerClosing()
        if self.waiting >= self.settings.max_queue:
            raise QueueFull()
        loop = asyncio.get_running_loop()
        job = Job(list(prompts), dict(options), streaming, loop.create_future(),
                  asyncio.Queue() if streaming else None)
        self._pending.append(job)
        self._wakeup.set()
        return job

    def abandon(self, job):
        """The client is gone or out of time: skip the job if it has not started."""
        job.abandoned = True
        if not job.future.done():
            job.future.cancel()

    async def _serve(self):
        loop = asyncio.get_running_loop()
        while True:
            self._drop_abandoned()
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self.settings.batch_wait_ms > 0 and self._pending[0].batchable and not self._closing:
                waited = time.monotonic() - self._pending[0].queued_at
                remaining = self.settings.batch_wait_ms / 1000 - waited
                if remaining > 0:
                    await asyncio.sleep(remaining)
                    self._drop_abandoned()
                    if not self._pending:
                        continue
            batch = self._take_batch()
            await loop.run_in_executor(self._executor, self._decode, batch, loop)

    def _drop_abandoned(self):
        while self._pending and self._pending[0].abandoned:
            self._pending.popleft()

    def _take_batch(self):
        """The oldest job and every later one that can share its decoder call."""
        first = self._pending.popleft()
        batch, rows = [first], len(first.prompts)
        if first.batchable:
            kept = collections.deque()
            for job in self._pending:
                if (not job.abandoned and job.key == first.key
                        and rows + len(job.prompts) <= self.settings.max_batch_rows):
                    batch.append(job)
                    rows += len(job.prompts)
                else:
                    kept.append(job)
            self._pending = kept
        return batch

    def _decode(self, batch, loop):
        """Runs on the decoder thread: one `generate` call for the whole batch."""
        prompts = [prompt for job in batch for prompt in job.prompts]
        rows = len(prompts)
        padded = min(1 << (rows - 1).bit_length(), max(rows, self.settings.max_batch_rows))
        if not batch[0].batchable:
            padded = rows  # a seeded sample must see exactly the prompts it was given
        owners = [(job, index) for job in batch for index in range(len(job.prompts))]

        def stream(row, text):
            if row < rows:
                job, index = owners[row]
                if not job.abandoned:
                    loop.call_soon_threadsafe(job.events.put_nowait, {"index": index, "text": text})

        try:
            results = self._generate(
                self.model, self.tokenizer, prompts + [prompts[-1]] * (padded - rows),
                return_details=True, stream=stream if batch[0].streaming else None,
                **batch[0].options)
        except Exception as error:  # every job of the batch learns why
            for job in batch:
                loop.call_soon_threadsafe(_settle, job, None, error)
            return
        self.batches += 1
        self.rows += rows
        start = 0
        for job in batch:
            answer = results[start:start + len(job.prompts)]
            start += len(job.prompts)
            loop.call_soon_threadsafe(_settle, job, answer, None)


def _settle(job, result, error):
    """On the event loop: the job's result or error; a streaming job's event queue ends."""
    if job.events is not None:
        job.events.put_nowait(None)  # after every text event the stream callback queued
    if job.future.done():  # cancelled: the client went away or ran out of time
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(result)
