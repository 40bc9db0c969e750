"""Helpers of the web app's tests: ``python app.py`` in a fresh process (the app as its users
start it), an app served by uvicorn in a thread (clients that really disconnect), PNG bytes in
and out, and a hole over a detected face."""

import contextlib
import io
import os
import socket
import subprocess
import sys
import threading
import time

import httpx2
import numpy as np
import uvicorn
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_app(*flags) -> tuple[subprocess.Popen, str]:
    """``python app.py`` with ``flags`` on a free port; (process, base URL) once it listens.
    Its output after the address goes to a drained pipe; stop it with ``stop_app``."""
    process = subprocess.Popen([sys.executable, os.path.join(REPO, "app.py"), "--port=0",
                                *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Completing with"):
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, line.split()[-1].rstrip("/")
    process.wait(timeout=10)
    raise AssertionError(f"app.py exited with {process.returncode}: {''.join(lines)[-2000:]}")


def stop_app(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


@contextlib.contextmanager
def serving(app):
    """Serves ``app`` with uvicorn on a free loopback port, in a thread; yields its base URL."""
    listening = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started)
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listening.close()


def send_unread(url: str, endpoint: str, files: dict, data: dict | None = None
                ) -> socket.socket:
    """POSTs a multipart request on a connection of its own and returns the connection
    without reading the answer: closing it is a client that has gone."""
    request = httpx2.Request("POST", url + endpoint, files=files, data=data)
    head = "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
    connection = socket.create_connection((request.url.host, request.url.port))
    connection.sendall(f"POST {endpoint} HTTP/1.1\r\n{head}\r\n".encode() + request.read())
    return connection


def wait_until(condition, timeout: float = 60) -> None:
    """Returns once ``condition()`` holds; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s")
        time.sleep(0.01)


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def face_mask(face: dict, shape, top=0.45, bottom=0.75) -> np.ndarray:
    """uint8 [H, W]: 255 = keep, 0 = a hole over a face's middle (nose and mouth), from the
    face's box as /api/faces gives it."""
    x, y, width, height = face["box"]
    mask = np.full(shape, 255, np.uint8)
    mask[int(y + top * height):int(y + bottom * height),
         int(x + 0.3 * width):int(x + 0.7 * width)] = 0
    return mask
