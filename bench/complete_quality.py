"""Completion quality and speed per mask kind: the bamos preset, the default and fast, in one run.

On the first N images of a real data set (CelebA's validation zip by default: quality figures are
always on held-out faces), for each mask kind and method: hole PSNR, hole SSIM, full-image PSNR,
hole L1, seconds per image and the speed-up over bamos (when bamos is among the methods).
``fast`` needs a model with an encoder (``train.py --encoder``). Prints a table.

    python bench/complete_quality.py --model=runs/00001-celeba64 \\
        [--data=../shared/data/celeba_valid.zip] [--num_images=256] \\
        [--masks=center,random,left,thick] [--methods=bamos,default,fast] [--batch_size=64]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from dcgan_tf import data, images as image_utils, inpaint, loading, masks as mask_lib  # noqa: E402
from dcgan_tf import metrics  # noqa: E402
from dcgan_tf.config import MODEL_HELP, SearchSettings, search_settings  # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                            "celeba_valid.zip")


def evaluate(model: loading.Model, originals, masks, settings: SearchSettings, batch_size: int):
    """Completes all images with one method; returns (metric means, seconds per image)."""
    targets = image_utils.to_float(originals)
    completed = np.zeros_like(targets)
    start = time.perf_counter()
    for first in range(0, len(targets), batch_size):
        part = np.s_[first:first + batch_size]
        completed[part] = inpaint.complete(
            model.generator, model.discriminator, targets[part], masks[part], settings,
            seed=first, encoder=model.encoder).completed
    seconds = (time.perf_counter() - start) / len(targets)
    # Scores on the uint8 images a user would save.
    saved = image_utils.to_float(image_utils.to_uint8(completed))
    scores = metrics.completion_metrics(saved, targets, masks)
    return {key: float(np.nanmean(values)) for key, values in scores.items()}, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help=MODEL_HELP)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--crop", default="celeba")
    parser.add_argument("--num_images", type=int, default=256)
    parser.add_argument("--masks", default="center,random,left,thick")
    parser.add_argument("--methods", default="bamos,default,fast")
    parser.add_argument("--steps", type=int, default=0,
                        help="the default method's steps (bamos and fast set their own)")
    parser.add_argument("--batch_size", type=int, default=64)
    args = parser.parse_args()

    model = loading.load(args.model)
    model_config = model.config
    originals = data.load_images(args.data, crop=args.crop, image_size=model_config.image_size,
                                 max_images=args.num_images)
    print(f"model {model.source}, {len(originals)} images of {args.data}, "
          f"{model_config.image_size}x{model_config.image_size}")
    header = (f"{'mask':8s} {'method':8s} {'hole PSNR':>9s} {'hole SSIM':>9s} {'PSNR':>6s} "
              f"{'hole L1':>7s} {'s/image':>8s} {'x bamos':>7s}")
    print(header)
    print("-" * len(header))
    for kind in args.masks.split(","):
        masks = mask_lib.make_masks(kind, len(originals), model_config.image_size, seed=0)
        bamos_seconds = None
        for method in args.methods.split(","):
            flags = {"steps": args.steps} if args.steps else {}
            settings = search_settings(method, **flags).for_model(model_config.latent_prior)
            scores, seconds = evaluate(model, originals, masks, settings, args.batch_size)
            bamos_seconds = seconds if method == "bamos" else bamos_seconds
            speedup = f"{bamos_seconds / seconds:7.1f}" if bamos_seconds else f"{'-':>7s}"
            print(f"{kind:8s} {method:8s} {scores['hole_psnr']:9.2f} {scores['hole_ssim']:9.3f} "
                  f"{scores['psnr']:6.2f} {scores['l1']:7.4f} {seconds:8.3f} {speedup}",
                  flush=True)


if __name__ == "__main__":
    main()
