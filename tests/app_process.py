"""``python app.py`` in a fresh process, for tests that use the app as its users do."""

import os
import subprocess
import sys
import threading

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_app(*flags) -> tuple[subprocess.Popen, str]:
    """``python app.py`` with ``flags`` on a free port; (process, base URL) once it listens.
    Its output after the address goes to a drained pipe; stop it with ``stop_app``."""
    process = subprocess.Popen([sys.executable, os.path.join(REPO, "app.py"), "--port=0",
                                *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, cwd=REPO)
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
