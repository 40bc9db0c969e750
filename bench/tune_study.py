"""The study behind ``--method=tune``'s settings: the tuning's learning rates, steps, tuned blocks
and prior weights, one at a time around the preset, on faces of CelebA's TRAIN split.

The faces are not those the benchmark reports (the first faces of ``celeba_valid.zip``): the
settings are chosen here and measured there (``bench/complete_quality.py --methods=tune``). The
model was trained on these faces, so the gains here may differ from held-out ones; the study
ranks settings, it does not report them. Every configuration completes the same first N faces
with the same masks (seed 0), framed as the model was trained (``crops.celeba_framing``); the
table gives hole PSNR, hole SSIM and seconds per image.

A configuration is the ``tune`` preset's settings at 100 tuning steps (``BASE``) with some fields
changed (``GRID``), run as ``--method=default`` with those settings (the preset refuses flags it
sets); ``fast`` and ``default`` are the reference rows (their presets' settings).

    python bench/tune_study.py --model=celeba64 --data=../shared/data/celeba_train.zip \\
        --num_images=32 --masks=center,left [--configs=base,lr3e-4,...] \\
        [--output=study.json [--resume]]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import complete_quality as table  # noqa: E402  (the sibling bench: scores, JSON)
from dcgan_tf import images as image_utils  # noqa: E402
from dcgan_tf.data import crops, pipeline  # noqa: E402
from dcgan_tf.inpainting import masks as mask_lib  # noqa: E402
from dcgan_tf.inpainting.settings import PRESETS, search_settings  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402
from dcgan_tf.serving.specs import MODEL_HELP  # noqa: E402

DEFAULT_DATA = os.path.join(table.SHARED, "data", "celeba_train.zip")
# The centre of the study: the tune preset's settings with 100 tuning steps (the study then
# chose 50 for the preset: the "steps50" row).
BASE = {**PRESETS["tune"], "tune_steps": 100}
# name -> the SearchSettings fields of a configuration, run as --method=default with them.
GRID = {
    "fast": PRESETS["fast"],
    "default": {},
    "base": BASE,
    # Steps, and G's learning rate (PTI: 3e-4; DGP: 2e-4 down to 1e-5).
    "steps50": {**BASE, "tune_steps": 50},
    "steps200": {**BASE, "tune_steps": 200},
    "lr3e-5": {**BASE, "tune_learning_rate": 3e-5},
    "lr3e-4": {**BASE, "tune_learning_rate": 3e-4},
    "lr1e-3": {**BASE, "tune_learning_rate": 1e-3},
    # z's learning rate while G moves (0: PTI's fixed pivot; DGP: 1e-3 down to 1e-5).
    "zlr0": {**BASE, "tune_latent_learning_rate": 0.0},
    "zlr1e-2": {**BASE, "tune_latent_learning_rate": 1e-2},
    # Which blocks: the coarse ones (shape, identity) or the fine ones (texture, colour).
    "coarse": {**BASE, "tune_blocks": "project,up0"},
    "fine": {**BASE, "tune_blocks": "up1,up2,to_rgb"},
    # The priors that keep the hole plausible: D's features (DGP) and locality (PTI).
    "features0": {**BASE, "feature_weight": 0.0},
    "features100": {**BASE, "feature_weight": 100.0},
    "locality0": {**BASE, "locality_weight": 0.0},
    "locality1": {**BASE, "locality_weight": 1.0},
    "locality10": {**BASE, "locality_weight": 10.0},
    "nopriors": {**BASE, "feature_weight": 0.0, "locality_weight": 0.0},
    # The contextual loss the tuning fits (and the search): every known pixel alike.
    "binary": {**BASE, "contextual": "binary"},
    # The default search (random start, 300 steps) before the tuning instead of fast's.
    "from_default": {"tune_steps": BASE["tune_steps"]},
}


def settings_of(name: str):
    """The search settings of configuration ``name`` of ``GRID``."""
    return search_settings("default", **GRID[name])


def complete(settings, model, originals, masks, batch_size: int) -> tuple[np.ndarray, float]:
    """uint8 completions [N, S, S, 3] of every image with ``settings``, and seconds per image."""
    targets = image_utils.to_float(originals)
    start = time.perf_counter()
    completed = table.search_completions(settings, model, targets, masks, batch_size)
    return image_utils.to_uint8(completed), (time.perf_counter() - start) / len(targets)


def run(args) -> None:
    """The study: every configuration on every mask, printed (and written) row by row."""
    names = args.configs.split(",")
    unknown = sorted(set(names) - set(GRID))
    if unknown:
        raise ValueError(f"--configs: unknown {', '.join(unknown)}; choose from "
                         f"{', '.join(GRID)}")
    if args.resume and not args.output:
        raise ValueError("--resume needs --output: the file whose rows it keeps")
    model = loading.load(args.model)
    crop = crops.celeba_framing(model.config.crop, model.config.align_framing)
    setup = {"bench": "tune_study", "model": table.path_or_name(model.source),
             "model_step": model.step, "data": table.path_or_name(args.data), "crop": crop,
             "num_images": args.num_images, "batch_size": args.batch_size}
    results = table.read_results(args.output, setup) if args.resume else {}
    size = model.config.image_size
    originals = pipeline.load_images(args.data, crop=crop, image_size=size,
                                     max_images=args.num_images)
    print(f"model {model.source}, {len(originals)} images of {args.data}")
    print(f"{'mask':7s} {'config':13s} {'hole PSNR':>9s} {'hole SSIM':>9s} {'s/image':>8s}")
    for kind in args.masks.split(","):
        masks = mask_lib.make_masks(kind, len(originals), size, seed=0)
        for name in names:
            key = f"{name}/{kind}"
            if key not in results:
                completed, seconds = complete(settings_of(name), model, originals, masks,
                                              args.batch_size)
                results[key] = table.score(completed, originals, masks, seconds)
                if args.output:
                    table.write_results(args.output, results, setup)
            row = results[key]
            print(f"{kind:7s} {name:13s} {row['hole_psnr']:9.2f} {row['hole_ssim']:9.3f} "
                  f"{row['seconds_per_image']:8.2f}", flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    """The flags (of ``sys.argv`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help=MODEL_HELP)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--num_images", type=int, default=32)
    parser.add_argument("--masks", default="center,left")
    parser.add_argument("--configs", default=",".join(GRID),
                        help=f"comma-separated, of {', '.join(GRID)}")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--output", default="", help="also write the rows as JSON here")
    parser.add_argument("--resume", action="store_true",
                        help="keep the rows already in --output and run only the missing ones")
    return parser.parse_args(argv)


def main():
    try:
        run(parse_args())
    except ValueError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
