"""The seed template the service replaces, kept as the baseline of the benchmarks.

Flask, a global `queue.Queue`, one `threading.Thread` that polls it (and sleeps 1 s whenever
it is empty), and a SIGINT handler that stops the thread. Served as
`gunicorn --worker-class gthread --workers 1 --threads N bench.seed_app:app`.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from flask import Flask, Response, jsonify, request

logging.basicConfig(level=logging.INFO)

app = Flask(__name__)
TASKS_QUEUE: queue.Queue[Any] = queue.Queue()
STOP = threading.Event()


def worker() -> None:
    while not STOP.is_set():
        try:
            task = TASKS_QUEUE.get(block=False)
            logging.info("processing task: %r", task)
        except queue.Empty:
            time.sleep(1)


@app.route("/task", methods=["POST"])
def add_task() -> Response:
    task = request.json
    TASKS_QUEUE.put(task)
    return jsonify({"success": "OK"})


def stop(signum: int, frame: FrameType | None) -> None:
    STOP.set()
    WORKER.join()
    sys.exit(0)


WORKER = threading.Thread(target=worker)
WORKER.start()
signal.signal(signal.SIGINT, stop)
