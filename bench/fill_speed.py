"""Seconds the classical fill of the hole's off-face part takes (``photo.background``), at the
photo's resolution (a completion) and shrunk to the live preview's side (the web app's
``jobs.PREVIEW_FILL_SIDE``), for photos of given long sides with a hole of a given share.

Each photo is synthetic (smooth colour waves under fine noise, 4:3); its hole is a wavy band
across the whole width, ``--hole_share`` of the pixels, all of it to fill from the surroundings
(no face beside it, so no seam band). The figure per size is the median of ``--repeats`` runs
after one warm-up run; the machine's other load counts too, so run it on a quiet machine.

Then the whole live preview (``photo.completion.complete_photo`` as the web app's
``jobs.preview`` runs it: ``instant``, no Poisson solve, the rest filled at
``PREVIEW_FILL_SIDE``; detection excluded, as the app caches it) of the app's second sample
photo enlarged to 960 px, with a band over the face's middle that stops at the face, and the
same band run on to the photo's edges (about half of it off the face).

    python bench/fill_speed.py [--model=celeba64] [--sides=960,4000] [--hole_share=0.1] \\
        [--repeats=5]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from dcgan_tf.app import engine as engine_lib  # noqa: E402
from dcgan_tf.app.jobs import PREVIEW_FILL_SIDE  # noqa: E402
from dcgan_tf.photo import background, completion as photo_lib, detect  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402
from dcgan_tf.serving.specs import MODEL_HELP  # noqa: E402

PREVIEW_SIDE = 960  # the sample photo is enlarged to this side for the preview's figures


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


def preview_seconds(model_spec: str, repeats: int) -> dict:
    """The median seconds of the live preview of the second sample photo at ``PREVIEW_SIDE``,
    by hole: {"on the face": s, "face and background": s} and the second hole's share filled
    from the surroundings."""
    engine = engine_lib.LocalEngine(loading.load(model_spec))
    sample = engine.samples()[1]  # at 960 px, sample 0 scores 0.938, under MIN_CONFIDENCE
    photo = np.asarray(Image.fromarray(sample).resize((PREVIEW_SIDE, PREVIEW_SIDE),
                                                       Image.BICUBIC))
    detections = detect.detect_faces(photo)
    x, y, width, height = detections.faces[0].box
    rows = slice(int(y + 0.45 * height), int(y + 0.7 * height))
    on_face = np.ones(photo.shape[:2], bool)
    on_face[rows, int(x + 0.2 * width):int(x + 0.8 * width)] = False
    across = np.ones(photo.shape[:2], bool)
    across[rows, :] = False
    figures = {}
    for name, mask in (("on the face", on_face), ("face and background", across)):
        def preview(mask=mask):
            return photo_lib.complete_photo(engine.completer("instant"), photo, mask=mask,
                                            detections=detections, seamless=False,
                                            fill_side=PREVIEW_FILL_SIDE)
        figures[name] = median_seconds(preview, repeats)
        figures[f"{name} share"] = preview().classical_share
    return figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help=MODEL_HELP)
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
    figures = preview_seconds(args.model, args.repeats)
    print(f"\nthe live preview of a {PREVIEW_SIDE}x{PREVIEW_SIDE} sample photo, one face:")
    for name in ("on the face", "face and background"):
        print(f"  hole {name:<20} {1000 * figures[name]:7.0f} ms "
              f"({100 * figures[name + ' share']:.0f}% from the surroundings)")


if __name__ == "__main__":
    main()
