"""Seconds the classical fill of the hole's off-face part takes (``photo.background``), at the
photo's resolution (a completion) and shrunk to the live preview's side (the web app's
``jobs.PREVIEW_FILL_SIDE``), for photos of given long sides with a hole of a given share.

Each photo is synthetic (smooth colour waves under fine noise, 4:3); its hole is a wavy band
across the whole width, ``--hole_share`` of the pixels, all of it to fill from the surroundings
(no face beside it, so no seam band). The figure per size is the median of ``--repeats`` runs
after one warm-up run; the machine's other load counts too, so run it on a quiet machine.

    python bench/fill_speed.py [--sides=960,4000] [--hole_share=0.1] [--repeats=5]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from dcgan_tf.app.jobs import PREVIEW_FILL_SIDE  # noqa: E402
from dcgan_tf.photo import background  # noqa: E402


def photo_and_sources(long_side: int, hole_share: float) -> tuple[np.ndarray, np.ndarray]:
    """A 4:3 photo uint8 [H, W, 3] and its source map uint8 [H, W]: a wavy band of
    ``hole_share`` of the rows in every column to fill (``background.CLASSICAL``)."""
    width, height = long_side, long_side * 3 // 4
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) / long_side
    smooth = np.stack([120 + 60 * np.sin(9 * x), 110 + 50 * np.cos(7 * y),
                       60 + 100 * x * y], axis=-1)
    noise = np.random.default_rng(0).integers(-12, 13, smooth.shape)
    photo = np.clip(smooth + noise, 0, 255).astype(np.uint8)
    thickness = round(hole_share * height)
    top = (height - thickness) / 2 + height / 5 * np.sin(2 * np.pi * np.arange(width) / width)
    rows = np.arange(height)[:, np.newaxis]
    band = (rows >= np.rint(top)) & (rows < np.rint(top) + thickness)
    return photo, np.where(band, background.CLASSICAL, background.KNOWN).astype(np.uint8)


def median_seconds(call, repeats: int) -> float:
    """The median wall time of ``repeats`` calls, after one warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sides", default="960,4000",
                        help="comma-separated long sides of the photos, in pixels")
    parser.add_argument("--hole_share", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    sides = [int(side) for side in args.sides.split(",")]
    if not 0 < args.hole_share < 1:
        sys.exit(f"error: --hole_share must be in (0, 1), got {args.hole_share}")
    print(f"{'photo':>11} {'hole':>6} {'fill at its size':>17} "
          f"{f'preview fill ({PREVIEW_FILL_SIDE} px)':>24}")
    for side in sides:
        photo, sources = photo_and_sources(side, args.hole_share)
        full = median_seconds(lambda: background.fill_uncovered(photo, sources, []),
                              args.repeats)
        preview = median_seconds(lambda: background.fill_uncovered(
            photo, sources, [], max_side=PREVIEW_FILL_SIDE), args.repeats)
        share = (sources == background.CLASSICAL).mean()
        size = f"{photo.shape[1]}x{photo.shape[0]}"
        print(f"{size:>11} {100 * share:5.1f}% {full:15.3f} s {preview:22.3f} s", flush=True)


if __name__ == "__main__":
    main()
