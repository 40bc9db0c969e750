"""Load test of the web app: ``python app.py`` in its own process, N clients on loopback.

First each distinct request (a sample photo at each of ``--sizes``, a hole over its face, preview
or ``fast`` completion) is sent alone, one at a time: its answer is the reference, and its
latency the single-client figure. Then ``--clients`` threads send random requests from that set
for ``--seconds``; every answer must equal its request's reference, byte for byte (a 503 is
counted and retried after its Retry-After). Prints requests/s and p50/p95 latency per kind,
end to end and as the server timed it (``Server-Timing: fill``), and the peak resident memory
of app.py (its VmHWM).

    python bench/app_load.py [--clients=4] [--seconds=60] [--model=MODEL]
Targets (one face, this 2-core machine): preview p50 <= 50 ms server time; fast completion
p50 <= 0.5 s end to end.

Memory with the largest photos app.py takes (--max_megapixels, 24 by default: 4898 x 4898) and
the queues full (4 previews and 8 completions):
    python bench/app_load.py --sizes=4898 --queue=8 --clients=12 --repeats=1 --seconds=120
"""

import argparse
import concurrent.futures
import io
import os
import random
import re
import subprocess
import sys
import threading
import time

import httpx2
import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = "320,960"  # the samples as they are, and enlarged 3x (a phone photo's face scale)
JPEG_PIXELS = 4_000_000  # photos larger than this are sent as JPEG: as PNG, 64 MP is > 50 MB


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def photo_file(pixels: np.ndarray) -> bytes:
    """The photo as a user would upload it: PNG, or JPEG (quality 95) when it is large."""
    if pixels.shape[0] * pixels.shape[1] <= JPEG_PIXELS:
        return png(pixels)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def start_app(model: str, queue: int, max_megapixels: float | None
              ) -> tuple[subprocess.Popen, str]:
    pixels = [] if max_megapixels is None else [f"--max_megapixels={max_megapixels}"]
    process = subprocess.Popen([sys.executable, os.path.join(REPO, "app.py"), "--port=0",
                                *([f"--model={model}"] if model else []), f"--queue={queue}",
                                *pixels],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if line.startswith("Completing with"):
            threading.Thread(target=process.stdout.read, daemon=True).start()  # drain
            return process, line.split()[-1].rstrip("/")
    raise SystemExit(f"app.py exited with {process.wait()}")


def peak_rss_mb(process: subprocess.Popen) -> float:
    """The most memory the running process has had resident (VmHWM), in MB."""
    with open(f"/proc/{process.pid}/status") as status:
        kilobytes = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return kilobytes / 1024


def client_for(url: str) -> httpx2.Client:
    return httpx2.Client(base_url=url, timeout=600)


def make_requests(client: httpx2.Client, sizes: list[int]) -> list[tuple[str, str, dict]]:
    """(kind, endpoint, files) of every distinct request: each sample at each size, with a hole
    over the middle of its face, as a preview and as a fast completion. A sample in which the
    app finds no face at a size is left out at that size, and said so.

    Raises:
        ValueError: naming --sizes, when no sample has a face the app finds.
    """
    requests = []
    for index in range(client.get("/api/info").json()["samples"]):
        sample = np.asarray(Image.open(io.BytesIO(client.get(f"/api/samples/{index}").content)))
        for size in sizes:
            photo = np.asarray(Image.fromarray(sample).resize((size, size), Image.BICUBIC))
            data = photo_file(photo)
            face = client.post("/api/faces", files={"image": ("p.png", data)}).json()["faces"]
            if not face:
                print(f"sample {index} at {size} px: the app finds no face in it; left out")
                continue
            x, y, width, height = face[0]["box"]
            mask = np.full((size, size), 255, np.uint8)
            mask[int(y + 0.45 * height):int(y + 0.75 * height),
                 int(x + 0.3 * width):int(x + 0.7 * width)] = 0
            files = {"image": ("p.png", data), "mask": ("m.png", png(mask))}
            requests.append((f"preview {size}px", "/api/preview", files))
            requests.append((f"fast {size}px", "/api/complete", files))
    if not requests:
        raise ValueError(f"--sizes {','.join(map(str, sizes))}: the app finds no face in any "
                         f"sample")
    return requests


def send(client: httpx2.Client, request) -> tuple[bytes, float, float, int]:
    """(answer, seconds end to end, server seconds, 503s before it) of one request."""
    _, endpoint, files = request
    refusals = 0
    while True:
        start = time.perf_counter()
        response = client.post(endpoint, files=files, data={"method": "fast"})
        seconds = time.perf_counter() - start
        if response.status_code != 503:
            break
        refusals += 1
        time.sleep(float(response.headers["Retry-After"]))
    response.raise_for_status()
    timing = re.search(r"fill;dur=([\d.]+)", response.headers.get("server-timing", ""))
    return response.content, seconds, float(timing.group(1)) / 1000 if timing else np.nan, \
        refusals


def report(title: str, records: dict) -> None:
    print(title)
    print(f"  {'request':14s} {'count':>6s} {'p50 ms':>8s} {'p95 ms':>8s} {'server p50':>10s} "
          f"{'server p95':>10s}")
    for kind in sorted(records):
        total = [seconds * 1000 for seconds, _ in records[kind]]
        server = [seconds * 1000 for _, seconds in records[kind]]
        print(f"  {kind:14s} {len(total):6d} {percentile(total, 50):8.1f} "
              f"{percentile(total, 95):8.1f} {percentile(server, 50):10.1f} "
              f"{percentile(server, 95):10.1f}")


def percentile(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help="app.py --model (default: app.py's)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--repeats", type=int, default=5, help="alone: sends of each request")
    parser.add_argument("--sizes", default=SIZES,
                        help="sides of the square photos made from each sample, comma-separated")
    parser.add_argument("--queue", type=int, default=64, help="app.py --queue")
    parser.add_argument("--max_megapixels", type=float,
                        help="app.py --max_megapixels (default: app.py's)")
    args = parser.parse_args()
    process, url = start_app(args.model, args.queue, args.max_megapixels)
    try:
        with client_for(url) as client:
            try:
                requests = make_requests(client, [int(size) for size in args.sizes.split(",")])
            except ValueError as error:
                raise SystemExit(f"error: {error}")
            references, alone = {}, {}
            for _ in range(args.repeats):
                for number, request in enumerate(requests):
                    answer, seconds, server, _ = send(client, request)
                    if references.setdefault(number, answer) != answer:
                        raise SystemExit(f"{request[0]}: two answers to the same request differ")
                    alone.setdefault(request[0], []).append((seconds, server))
        report(f"One client, each request alone ({args.repeats} times each):", alone)

        records, wrong, refused = {}, [], [0]
        deadline = time.perf_counter() + args.seconds

        def client_loop(seed):
            rng = random.Random(seed)
            with client_for(url) as client:
                while time.perf_counter() < deadline:
                    number = rng.randrange(len(requests))
                    answer, seconds, server, refusals = send(client, requests[number])
                    refused[0] += refusals
                    if answer != references[number]:
                        wrong.append(requests[number][0])
                    records.setdefault(requests[number][0], []).append((seconds, server))

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(client_loop, range(args.clients)))
        elapsed = time.perf_counter() - start
        answered = sum(len(values) for values in records.values())
        report(f"{args.clients} clients for {elapsed:.0f} s: {answered / elapsed:.1f} requests/s, "
               f"{refused[0]} answered 503 first (retried), {len(wrong)} wrong answers:", records)
        if wrong:
            raise SystemExit(f"answers that were not their request's own: {wrong[:5]}")
        print(f"Every one of the {answered} answers equals its request's answer alone.")
        print(f"Peak resident memory of app.py: {peak_rss_mb(process):.0f} MB")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
