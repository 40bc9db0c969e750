"""Run a multi-worker training on this machine: N worker processes on 127.0.0.1, each with its own
TF_CONFIG, restarted together when one of them dies.

    python -m dcgan_tf.training.launch --workers=2 -- train.py --strategy=multi_worker \\
        --run_dir=runs/multi --epochs=2

Each worker gets a free port and ``TF_CONFIG = {"cluster": {"worker": [...]}, "task": {"type":
"worker", "index": i}}``; worker 0 is the chief. Their output is forwarded with a ``[worker i]``
prefix. When a worker exits with an error or is killed (the first to, when several do, is the
one reported), the others are stopped (SIGTERM, then SIGKILL after --grace_seconds) and, while
--max_restarts allows, all are started again: training resumes from the run's newest
checkpoint, so at most one checkpoint interval of steps is repeated. The command's first word
may be a ``.py`` script (run with this Python).
"""

import argparse
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

from dcgan_tf.checks import check_range


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct TCP ports that were free on ``host`` a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_configs(addresses: list[str]) -> list[str]:
    """The TF_CONFIG JSON of each worker of a cluster of ``addresses`` (worker 0 is the chief)."""
    return [json.dumps({"cluster": {"worker": addresses},
                        "task": {"type": "worker", "index": index}})
            for index in range(len(addresses))]


def worker_command(command: list[str]) -> list[str]:
    return [sys.executable, *command] if command[0].endswith(".py") else command


class WorkerGroup:
    """The worker processes of one attempt, with their output forwarded and a thread per worker
    that waits for its exit, so exits are seen in the order they happen."""

    def __init__(self, command: list[str], workers: int, host: str, output=sys.stdout,
                 threads_per_worker: int = 0):
        addresses = [f"{host}:{port}" for port in free_ports(workers, host)]
        self.output = output
        self.lock = threading.Lock()
        self.processes = []
        self.threads = []
        self.exits = queue.Queue()  # (index, return code), in the order the workers ended
        for index, tf_config in enumerate(tf_configs(addresses)):
            environment = dict(os.environ, TF_CONFIG=tf_config, PYTHONUNBUFFERED="1")
            if threads_per_worker:
                environment.update(TF_NUM_INTRAOP_THREADS=str(threads_per_worker),
                                   TF_NUM_INTEROP_THREADS=str(threads_per_worker))
            process = subprocess.Popen(worker_command(command), env=environment,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, bufsize=1)
            self.processes.append(process)
            self._say(f"[launch] worker {index} pid {process.pid} at {addresses[index]}")
            for target in (self._forward, self._wait_for_exit):
                thread = threading.Thread(target=target, args=(index, process), daemon=True)
                thread.start()
                self.threads.append(thread)

    def _say(self, line: str) -> None:
        with self.lock:
            print(line, file=self.output, flush=True)

    def _forward(self, index: int, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self._say(f"[worker {index}] {line.rstrip()}")

    def _wait_for_exit(self, index: int, process: subprocess.Popen) -> None:
        self.exits.put((index, process.wait()))

    def wait(self) -> tuple[int, int]:
        """Blocks until all workers succeed -> (0, -1) or one fails -> (its code, its index):
        the first to fail, when several do."""
        for _ in self.processes:
            index, code = self.exits.get()
            if code != 0:
                return code, index
        return 0, -1

    def stop(self, grace_seconds: float) -> None:
        """SIGTERM to the running workers (they checkpoint and stop), SIGKILL after the grace."""
        running = [process for process in self.processes if process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for thread in self.threads:
            thread.join(timeout=5)


def describe(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def launch(command: list[str], workers: int, *, max_restarts: int = 3, host: str = "127.0.0.1",
           grace_seconds: float = 30.0, threads_per_worker: int = 0, output=sys.stdout) -> int:
    """Runs ``command`` as ``workers`` cooperating processes; returns the exit code (0 = all
    workers finished)."""
    group = None

    def stop_on_signal(signum, frame):
        if group is not None:
            group.stop(grace_seconds)
        sys.exit(128 + signum)

    previous = {signum: signal.signal(signum, stop_on_signal)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        for attempt in range(max_restarts + 1):
            group = WorkerGroup(command, workers, host, output, threads_per_worker)
            code, index = group.wait()
            if code == 0:
                group.stop(grace_seconds)  # only joins the output threads
                return 0
            group.stop(grace_seconds)
            if attempt == max_restarts:
                print(f"[launch] worker {index} {describe(code)}; no restarts left",
                      file=output, flush=True)
                return code if code > 0 else 128 - code
            print(f"[launch] worker {index} {describe(code)}; restarting all {workers} workers "
                  f"(restart {attempt + 1} of {max_restarts})", file=output, flush=True)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dcgan_tf.training.launch", description=__doc__.splitlines()[0],
        usage="%(prog)s [--workers N] [--max_restarts R] -- COMMAND ...")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (>= 1)")
    parser.add_argument("--max_restarts", type=int, default=3,
                        help="times the whole group is restarted after a worker dies")
    parser.add_argument("--host", default="127.0.0.1", help="address the workers listen on")
    parser.add_argument("--grace_seconds", type=float, default=30.0,
                        help="how long stopped workers get to save before SIGKILL")
    parser.add_argument("--threads_per_worker", type=int, default=0,
                        help="TensorFlow threads per worker (0 = TensorFlow's default, all "
                             "cores each); on one machine, cores / workers avoids contention")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="after --: the training command, e.g. train.py --run_dir=...")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("give the training command after --, e.g. -- train.py "
                     "--strategy=multi_worker --run_dir=runs/multi")
    for flag, low in (("workers", 1), ("max_restarts", 0), ("threads_per_worker", 0),
                      ("grace_seconds", 0)):
        try:
            check_range(flag, getattr(args, flag), low)
        except ValueError as error:
            parser.error(str(error))
    return args


def main(argv=None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sys.exit(launch(args.command, args.workers, max_restarts=args.max_restarts, host=args.host,
                    grace_seconds=args.grace_seconds,
                    threads_per_worker=args.threads_per_worker))


if __name__ == "__main__":
    main()
