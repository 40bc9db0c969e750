"""Completing faces in photos framed unlike the training crops: detected alignment (``--align``)
against the best crop without alignment and against alignment by the true transform.

Each of the first N faces of a data set (CelebA's validation zip by default: held-out faces) is
placed into a canvas by a random similarity: rotation up to +-25 degrees, the model's crop
shown at 0.5-3x the model's size, a random shift, the rest of the canvas filled by reflecting
the image. The hole is the model's central square (--mask_scale of its crop) carried into the
canvas by the true transform. Each method completes the canvas and blends back at the canvas's
resolution; hole PSNR and SSIM are measured there against the canvas itself:

    (a) align   faces detected by MTCNN, aligned to the model's landmark template
    (b) center  the canvas's central square taken as the crop (the best crop without a face
                detector: the face is placed around the centre)
    (c) oracle  the true transform (the crop the model was trained on)

and, as anchors with no model, the classical fills of the same hole in the whole canvas
(``dcgan_tf.inpainting.classical``): telea, ns (OpenCV's inpainting) and mean (the known pixels'
colour).

    python bench/align_quality.py --model=celeba64 [--num_images=128] [--method=fast]
"""

import argparse
import functools
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from dcgan_tf import images as image_utils  # noqa: E402
from dcgan_tf.data import crops, decode, pipeline  # noqa: E402
from dcgan_tf.evaluation import image_metrics  # noqa: E402
from dcgan_tf.inpainting import classical, masks as mask_lib  # noqa: E402
from dcgan_tf.inpainting.settings import search_settings  # noqa: E402
from dcgan_tf.photo import align, completion as photo_lib, scenes  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402
from dcgan_tf.serving.specs import MODEL_HELP  # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                            "celeba_valid.zip")
CANVAS = 320
SCENE_SEED = 9_000_011


def random_placement(rng, size: int) -> np.ndarray:
    """The transform [3, 3] from the model's crop (index coordinates, ``size`` px) to the
    canvas: rotation, scale so the crop shows at 0.5-3x ``size`` px, shift inside the canvas."""
    angle = rng.uniform(-25, 25)
    shown = size * rng.uniform(0.5, 3.0)
    reach = shown * 0.71  # half the crop's diagonal: the rotated crop stays inside
    centre = rng.uniform(reach, CANVAS - reach, 2) if reach < CANVAS / 2 else [CANVAS / 2] * 2
    return scenes.similarity_transform(angle, shown / size, np.full(2, (size - 1) / 2), centre)


def make_scene(photo: np.ndarray, crop: str, size: int, rng) -> tuple:
    """A canvas uint8 [CANVAS, CANVAS, 3] holding ``photo`` placed at random, and the true
    alignment (canvas -> the model's crop)."""
    top, left, side, _ = (float(v) for v in crops.region_box(*photo.shape[:2], crop))
    crop_to_canvas = random_placement(rng, size)
    # Photo index coordinates -> crop index coordinates (the training crop, scaled to size).
    photo_to_crop = align.square_alignment(left, top, side, size).matrix
    canvas = scenes.reflected_canvas(photo, crop_to_canvas @ photo_to_crop, CANVAS, CANVAS)
    return canvas, align.Alignment(np.linalg.inv(crop_to_canvas), size)


def centre_alignment(size: int) -> align.Alignment:
    """The canvas's central square as the crop: a pure scale."""
    return align.square_alignment(0, 0, CANVAS, size)


def _detected(result: photo_lib.PhotoCompletion) -> np.ndarray | None:
    """The completed canvas, or None when no face was found (the photo path then fills the
    whole hole from its surroundings: not what this bench measures)."""
    return result.completed if result.faces else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help=MODEL_HELP)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--crop", default="", help="crop of --data (default: the model's)")
    parser.add_argument("--num_images", type=int, default=128)
    parser.add_argument("--method", default="fast")
    parser.add_argument("--mask_scale", type=float, default=0.25)
    args = parser.parse_args()

    model = loading.load(args.model)
    size = model.config.image_size
    settings = search_settings(args.method).for_model(model.config.latent_prior)
    crop_hole = mask_lib.make_masks("center", 1, size, scale=args.mask_scale)[0, ..., 0]
    rng = np.random.default_rng(SCENE_SEED)
    methods = ("align", "center", "oracle") + classical.METHODS
    scores, seconds, aligned = {name: [] for name in methods}, dict.fromkeys(methods, 0.0), []
    for index, (name, encoded) in enumerate(pipeline.read_encoded(args.data, args.num_images)):
        canvas, truth = make_scene(decode.read_rgb(encoded, name),
                                   args.crop or model.config.crop, size, rng)
        mask = align.mask_from_crop(crop_hole, truth, canvas.shape[:2])
        completer = photo_lib.search_completer(model, settings, seed=index)
        runs = {"center": lambda: photo_lib.complete_aligned(
                    completer, canvas, mask, [centre_alignment(size)]).completed,
                "oracle": lambda: photo_lib.complete_aligned(
                    completer, canvas, mask, [truth]).completed,
                "align": lambda: _detected(photo_lib.complete_photo(completer, canvas,
                                                                    mask=mask))}
        runs.update({fill: functools.partial(classical.fill_photo, canvas, mask, fill)
                     for fill in classical.METHODS})
        target = image_utils.to_float(canvas)[np.newaxis]
        for method, run in runs.items():
            start = time.perf_counter()
            completed = run()
            if completed is None:  # no face found: the hole stays mid-grey
                completed = np.where(mask[..., np.newaxis] > 0.5, canvas, 128).astype(np.uint8)
            seconds[method] += time.perf_counter() - start
            score = image_metrics.completion_metrics(image_utils.to_float(completed)[np.newaxis],
                                                     target, mask[np.newaxis, ..., np.newaxis])
            scores[method].append([score["hole_psnr"][0], score["hole_ssim"][0]])
            if method == "align":
                aligned.append(not np.array_equal(completed[mask < 0.5], np.full_like(
                    completed[mask < 0.5], 128)))
    count, aligned = len(aligned), np.array(aligned)
    print(f"model {model.source}, {count} faces of {args.data} in {CANVAS}x{CANVAS} canvases, "
          f"--method={args.method}; faces detected and aligned: {aligned.sum()} of {count} "
          f"(a missed face leaves a mid-grey hole)")
    print(f"{'method':8s} {'hole PSNR':>9s} {'hole SSIM':>9s} {'PSNR found':>10s} {'s/image':>8s}")
    for method in methods:
        values = np.array(scores[method])
        psnr, ssim = np.nanmean(values, axis=0)
        found = np.nanmean(values[aligned, 0]) if aligned.any() else float("nan")
        print(f"{method:8s} {psnr:9.2f} {ssim:9.3f} {found:10.2f} "
              f"{seconds[method] / count:8.3f}")


if __name__ == "__main__":
    main()
