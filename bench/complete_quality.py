"""Completion quality, realism and speed per mask kind and method, all in one run.

On the first N images of a real data set (CelebA's validation zip by default: quality figures are
always on held-out faces), with the same masks (seed 0) for every method: hole PSNR, hole SSIM,
full-image PSNR, hole L1, seconds per image and the speed-up over bamos (when bamos is among the
methods); with --realism also FID, KID, U-IDS and P-IDS of the completed images. Every figure is
on the uint8 images a user would save. Prints a table and each mask's hole share.

Methods (--methods):
    bamos, default, fast, instant   the model's search presets (``fast`` and ``instant`` need a
                                    model with an encoder: ``train.py --encoder``)
    telea, ns, mean                 classical fills with no model
                                    (``dcgan_tf.inpainting.classical``): OpenCV's Telea and
                                    Navier-Stokes, the known pixels' mean colour
    real                            each image's own original: the reference row (hole PSNR inf;
                                    its realism is real faces against other real faces, U-IDS and
                                    P-IDS about 0.5)

Realism (--realism, ``distribution_metrics.realism``): completions of the first half of the N
images against the real faces of the second half and the other way round, so no completion meets
its own original; FID and KID on the FID Inception network's pool features (--inception); U-IDS and
P-IDS from a 5-fold cross-validated linear SVM (scikit-learn LinearSVC, C = 0.01, standardised
features) scored only on the folds it was not fitted on. It needs N >= 400 (200 a side) and warns
below 2,000 (1,000 a side).

--output writes {"<method>/<mask>": {"hole_psnr", "hole_ssim", "psnr", "ssim", "l1" (on the
hole), "fid", "kid", "p_ids", "u_ids", "seconds_per_image", "num_images", "hole_share"}} as JSON
(atomically, after every row; the realism keys only with --realism; an infinite figure, the real
row's hole PSNR, as null).

    python bench/complete_quality.py --model=celeba64 [--data=../shared/data/celeba_valid.zip] \\
        [--num_images=256] [--masks=center,random,left,thick] \\
        [--methods=telea,bamos,default,fast] [--batch_size=64] \\
        [--realism [--inception=../shared/models/inception_v3_fid.weights.h5]] \\
        [--output=results.json]
"""

import argparse
import importlib.util
import json
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from dcgan_tf import files, images as image_utils  # noqa: E402
from dcgan_tf.data import pipeline  # noqa: E402
from dcgan_tf.evaluation import distribution_metrics, image_metrics, inception  # noqa: E402
from dcgan_tf.inpainting import classical, masks as mask_lib, search  # noqa: E402
from dcgan_tf.inpainting.settings import METHODS as SEARCH_METHODS, search_settings  # noqa: E402
from dcgan_tf.models import trained  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402
from dcgan_tf.serving.specs import MODEL_HELP  # noqa: E402

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
DEFAULT_DATA = os.path.join(SHARED, "data", "celeba_valid.zip")
DEFAULT_INCEPTION = os.path.join(SHARED, "models", "inception_v3_fid.weights.h5")
REFERENCE = "real"
METHODS = SEARCH_METHODS + classical.METHODS + (REFERENCE,)


def complete(method: str, model: trained.Model, originals, masks, *, steps: int,
             batch_size: int) -> tuple[np.ndarray, float]:
    """Completes every image with one method.

    Args:
        method: one of ``METHODS``.
        model: the loaded model (search methods only).
        originals: uint8 [N, S, S, 3].
        masks: float32 [N, S, S, 1], 1 = known.
        steps: the default method's steps (0: its preset's).
        batch_size: images per search batch.

    Returns:
        (completed uint8 [N, S, S, 3], seconds per image).
    """
    targets = image_utils.to_float(originals)
    start = time.perf_counter()
    if method == REFERENCE:
        completed = targets
    elif method in classical.METHODS:
        completed = classical.fill(targets, masks, method)
    else:
        flags = {"steps": steps} if steps and method == "default" else {}
        settings = search_settings(method, **flags).for_model(model.config.latent_prior)
        completed = np.zeros_like(targets)
        for first in range(0, len(targets), batch_size):
            part = np.s_[first:first + batch_size]
            completed[part] = search.complete(
                model.generator, model.discriminator, targets[part], masks[part], settings,
                seed=first, encoder=model.encoder).completed
    seconds = (time.perf_counter() - start) / len(targets)
    return image_utils.to_uint8(completed), seconds


def quality(completed, originals, masks) -> dict:
    """Means over the images of ``image_metrics.completion_metrics`` (uint8 images [N, S, S, 3],
    masks [N, S, S, 1]): hole_psnr, hole_ssim, psnr, ssim, l1 (on the hole)."""
    scores = image_metrics.completion_metrics(image_utils.to_float(completed),
                                              image_utils.to_float(originals), masks)
    return {key: float(np.nanmean(values)) for key, values in scores.items()}


def score(completed, originals, masks, seconds: float, extractor=None, original_features=None,
          *, reference: bool = False) -> dict:
    """One row of the table.

    Args:
        completed, originals: uint8 [N, H, W, 3].
        masks: [N, H, W, 1], 1 = known.
        seconds: per image.
        extractor: an ``inception.FeatureExtractor`` for the realism figures, or None.
        original_features: the extractor's features [N, 2048] of ``originals``.
        reference: ``completed`` are the originals themselves (their features are known).

    Returns:
        ``quality``'s means with seconds_per_image, num_images and hole_share (the hole's
        share of the pixels), and with an extractor also fid, kid, u_ids and p_ids.
    """
    row = quality(completed, originals, masks)
    row.update(seconds_per_image=seconds, num_images=len(originals),
               hole_share=float(1 - np.mean(masks)))
    if extractor is not None:
        features = original_features if reference else extractor(completed)
        scores = distribution_metrics.realism(features, original_features)
        row.update({key: scores[key] for key in ("fid", "kid", "u_ids", "p_ids")})
    return row


def check_args(args) -> None:
    """Raises ValueError naming the first flag out of range."""
    unknown = sorted(set(args.methods.split(",")) - set(METHODS))
    if unknown:
        raise ValueError(f"--methods: unknown {', '.join(unknown)}; choose from "
                         f"{', '.join(METHODS)}")
    unknown = sorted(set(args.masks.split(",")) - set(mask_lib.MASK_KINDS))
    if unknown:
        raise ValueError(f"--masks: unknown {', '.join(unknown)}; choose from "
                         f"{', '.join(mask_lib.MASK_KINDS)}")
    if args.num_images < 1 or args.batch_size < 1 or args.steps < 0:
        raise ValueError("--num_images and --batch_size must be >= 1, --steps >= 0")
    if args.realism:
        check_realism_flags(args.inception)
    if args.output:
        files.check_writable_dir(os.path.dirname(os.path.abspath(args.output)), "output")


def check_realism_flags(inception_path: str) -> None:
    """Raises ValueError, before any work, when --realism cannot run: no --inception file, or
    no scikit-learn (the ``bench`` extra)."""
    if not os.path.isfile(inception_path):
        raise ValueError(f"--inception file not found: {inception_path}")
    if importlib.util.find_spec("sklearn") is None:
        raise ValueError("--realism needs scikit-learn: pip install -e \".[bench]\"")


def check_realism_count(count: int) -> None:
    """Refuses too few images for ``distribution_metrics.realism`` (ValueError naming
    --num_images) and warns when the figures will be noisy."""
    side = count // 2
    if side < distribution_metrics.MIN_IDS_SIDE:
        minimum = distribution_metrics.MIN_IDS_SIDE
        raise ValueError(f"--realism needs --num_images >= {2 * minimum} ({minimum} a side); "
                         f"{count} images give {side}")
    if side < distribution_metrics.RELIABLE_IDS_SIDE:
        print(f"warning: --realism on N = {count} images, {side} a side: below "
              f"{distribution_metrics.RELIABLE_IDS_SIDE:,} a side FID, U-IDS and P-IDS are noisy "
              f"(FID biased upward); report N with every figure", flush=True)


def write_results(path: str, results: dict) -> None:
    """Writes ``results`` as JSON atomically, infinite or NaN figures as null."""
    def finite(value):
        return value if not isinstance(value, float) or math.isfinite(value) else None

    table = {key: {name: finite(value) for name, value in row.items()}
             for key, row in results.items()}

    files.atomic_write_text(path, json.dumps(table, indent=2))


def header(realism: bool) -> str:
    """The table's heading and rule (realism: with the realism columns)."""
    header = (f"{'mask':9s} {'method':8s} {'hole PSNR':>9s} {'hole SSIM':>9s} {'PSNR':>6s} "
              f"{'hole L1':>7s} {'s/image':>8s} {'x bamos':>7s}")
    if realism:
        header += f" {'FID':>7s} {'KID x1e3':>8s} {'U-IDS':>6s} {'P-IDS':>6s}"
    return header + "\n" + "-" * len(header)


def format_row(kind: str, method: str, row: dict, speedup: str) -> str:
    """One line of the table for ``score``'s ``row``."""
    line = (f"{kind:9s} {method:8s} {row['hole_psnr']:9.2f} {row['hole_ssim']:9.3f} "
            f"{row['psnr']:6.2f} {row['l1']:7.4f} {row['seconds_per_image']:8.3f} {speedup:>7s}")
    if "fid" in row:
        line += (f" {row['fid']:7.2f} {1e3 * row['kid']:8.2f} {row['u_ids']:6.3f} "
                 f"{row['p_ids']:6.3f}")
    return line


def run(args) -> None:
    """The benchmark: loads model and data, completes, scores, prints, writes."""
    check_args(args)
    model = loading.load(args.model)
    size = model.config.image_size
    originals = pipeline.load_images(args.data, crop=args.crop, image_size=size,
                                     max_images=args.num_images)
    print(f"model {model.source}, {len(originals)} images of {args.data}, "
          f"{size}x{size}")
    extractor, original_features = None, None
    if args.realism:
        check_realism_count(len(originals))
        print(f"realism: {distribution_metrics.IDS_FOLDS}-fold held-out linear SVM "
              f"(C = {distribution_metrics.IDS_C}, standardised features), completions of each "
              f"half against the other half's real faces, {len(originals) // 2} a side",
              flush=True)
        extractor = inception.FeatureExtractor(args.inception)
        original_features = extractor(originals)
    all_masks = {kind: mask_lib.make_masks(kind, len(originals), size, seed=0)
                 for kind in args.masks.split(",")}
    for kind, masks in all_masks.items():
        print(f"mask {kind}: the hole is {100 * (1 - masks.mean()):.1f}% of the pixels")
    print(header(args.realism), flush=True)
    results = {}
    for kind, masks in all_masks.items():
        bamos_seconds = None
        for method in args.methods.split(","):
            completed, seconds = complete(method, model, originals, masks, steps=args.steps,
                                          batch_size=args.batch_size)
            row = score(completed, originals, masks, seconds, extractor, original_features,
                        reference=method == REFERENCE)
            bamos_seconds = seconds if method == "bamos" else bamos_seconds
            speedup = f"{bamos_seconds / seconds:.1f}" if bamos_seconds and seconds else "-"
            print(format_row(kind, method, row, speedup), flush=True)
            results[f"{method}/{kind}"] = row
            if args.output:
                write_results(args.output, results)
    if args.output:
        print(f"Written: {args.output}")


def parse_args(argv=None) -> argparse.Namespace:
    """The flags (of ``sys.argv`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help=MODEL_HELP)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--crop", default="celeba")
    parser.add_argument("--num_images", type=int, default=256)
    parser.add_argument("--masks", default="center,random,left,thick")
    parser.add_argument("--methods", default="bamos,default,fast",
                        help=f"comma-separated, of {', '.join(METHODS)}")
    parser.add_argument("--steps", type=int, default=0,
                        help="the default method's steps (bamos and fast set their own)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--realism", action="store_true",
                        help="also FID, KID, U-IDS and P-IDS (needs --num_images >= 400)")
    parser.add_argument("--inception", default=DEFAULT_INCEPTION,
                        help="the FID Inception weights file (for --realism)")
    parser.add_argument("--output", default="", help="also write the figures as JSON here")
    return parser.parse_args(argv)


def main():
    try:
        run(parse_args())
    except ValueError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
