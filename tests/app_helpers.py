"""Helpers of the web app's tests: ``python app.py`` in a fresh process (the app as its users
start it), PNG bytes in and out, and a hole over a detected face."""

import io
import os
import subprocess
import sys
import threading

import numpy as np
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
