"""The web app's first completion after start against the next ones: ``python app.py`` in its own
process (it warms up before it listens), then a photo it has not seen (a sample's face in a
501x700 photo, as a user's photo would be) is looked at (/api/faces, as the page does) and
completed ``--completions`` times in a row with ``--method`` (/api/complete; the same request
each time). Prints each completion's time end to end and as the server timed it
(``Server-Timing: fill``), and the first's ratio to the median of the others.

    python bench/first_completion.py [--model=MODEL] [--method=fast]
Target: the first completion within 1.3x of the following ones (issue 33).
"""

import argparse
import io
import re
import time

import httpx
import numpy as np
from PIL import Image

from app_load import png, start_app

PHOTO_SIZE = (501, 700)  # (width, height) of the photo completed
SAMPLE = 1  # the sample whose face is used (the app warms up on sample 0)
TARGET = 1.3  # the first completion's time over the median of the following ones, at most


def make_photo(client: httpx.Client) -> np.ndarray:
    """uint8 [700, 501, 3]: sample ``SAMPLE`` enlarged to the photo's width, its top and bottom
    rows repeated to the photo's height."""
    width, height = PHOTO_SIZE
    sample = Image.open(io.BytesIO(client.get(f"/api/samples/{SAMPLE}").content))
    square = np.asarray(sample.convert("RGB").resize((width, width), Image.BICUBIC))
    top = (height - width) // 2
    return np.pad(square, [(top, height - width - top), (0, 0), (0, 0)], mode="edge")


def hole_over_face(client: httpx.Client, data: bytes, shape) -> bytes:
    """The mask PNG of a hole over the middle of the photo's first face (as the page's
    faces request finds it)."""
    faces = client.post("/api/faces", files={"image": ("photo.png", data)}).json()["faces"]
    if not faces:
        raise SystemExit("the app found no face in the photo")
    x, y, width, height = faces[0]["box"]
    mask = np.full(shape, 255, np.uint8)
    mask[int(y + 0.45 * height):int(y + 0.75 * height),
         int(x + 0.3 * width):int(x + 0.7 * width)] = 0
    return png(mask)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help="app.py --model (default: app.py's)")
    parser.add_argument("--method", default="fast")
    parser.add_argument("--completions", type=int, default=6,
                        help="completions timed: the first and the ones after it")
    args = parser.parse_args()
    if args.completions < 2:
        parser.error(f"--completions must be at least 2, got {args.completions}")
    start = time.perf_counter()
    process, url = start_app(args.model, queue=8, max_megapixels=None)
    print(f"app.py listening after {time.perf_counter() - start:.1f} s (warm-up included)")
    try:
        with httpx.Client(base_url=url, timeout=600) as client:
            photo = make_photo(client)
            data = png(photo)
            files = {"image": ("photo.png", data),
                     "mask": ("mask.png", hole_over_face(client, data, photo.shape[:2]))}
            ends, servers = [], []
            for _ in range(args.completions):
                begin = time.perf_counter()
                response = client.post("/api/complete", files=files,
                                       data={"method": args.method})
                ends.append(time.perf_counter() - begin)
                response.raise_for_status()
                timing = re.search(r"fill;dur=([\d.]+)", response.headers["server-timing"])
                servers.append(float(timing.group(1)) / 1000)
    finally:
        process.terminate()
        process.wait(timeout=30)
    width, height = PHOTO_SIZE
    print(f"--method={args.method} completions of a {width}x{height} photo, one face:")
    print(f"  {'':6s} {'end to end s':>12s} {'server s':>9s}")
    for number, (end, server) in enumerate(zip(ends, servers)):
        print(f"  {'first' if number == 0 else f'#{number + 1}':6s} {end:12.3f} {server:9.3f}")
    ratio = servers[0] / np.median(servers[1:])
    end_ratio = ends[0] / np.median(ends[1:])
    print(f"first / median of the next {args.completions - 1}: {ratio:.2f}x server, "
          f"{end_ratio:.2f}x end to end (target: at most {TARGET}x)")


if __name__ == "__main__":
    main()
