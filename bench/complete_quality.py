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

--output writes the table as JSON, a "setup" object next to the rows:
{"setup": {"bench", "model", "model_step", "data", "crop", "num_images", "steps", "batch_size",
"realism"}, "<method>/<mask>": {"hole_psnr", "hole_ssim", "psnr", "ssim", "l1" (on the hole),
"fid", "kid", "p_ids", "u_ids", "seconds_per_image", "num_images", "hole_share"}, ...} (the
realism keys only with --realism; an infinite figure, the real row's hole PSNR, as null).
"setup" is what every row was made with: the model as ``loading.load`` reports it (a path made
absolute, or a packaged name) and its training step (-1: packaged), the --data path (absolute)
and the flags that change figures. --batch_size does: a search batch draws its random starts
from one seed, its first image's index, so the bamos and default rows depend on it. The file is
rewritten atomically (a temporary file renamed over it) after every row, so a run stopped at any
moment (SIGTERM at a session's end, Ctrl-C, a crash) leaves a whole file with every row finished
so far (a kill in the middle of a write leaves at most a stray .tmp-*.json beside it).

--resume (with --output) keeps the rows already in that file, prints them (marked "kept") and
runs only the missing method/mask cells, so a stopped run goes on where it stopped (no file yet:
it starts one). It refuses (ValueError naming --resume and the setting) a file whose "setup"
differs from this run's, so a table never mixes runs; rows of the file outside this run's
--methods x --masks stay in it. A search row also keeps its finished batches, at most a minute
old, in <output>.<method>-<mask>.partial.npz (``RowProgress``: the completed images, so never
commit one made from a data set's faces), removed when the row is written; --resume goes on
from them to the figures the row would have had in one run (each batch is seeded by its first
image's index). Seconds per image (and x bamos) of a resumed table come from the runs that made
each row, with whatever else the machine was running then.

    python bench/complete_quality.py --model=celeba64 [--data=../shared/data/celeba_valid.zip] \\
        [--num_images=256] [--masks=center,random,left,thick] \\
        [--methods=telea,bamos,default,fast] [--batch_size=64] \\
        [--realism [--inception=../shared/models/inception_v3_fid.weights.h5]] \\
        [--output=results.json [--resume]]
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
             batch_size: int, progress: "RowProgress | None" = None
             ) -> tuple[np.ndarray, float]:
    """Completes every image with one method.

    Args:
        method: one of ``METHODS``.
        model: the loaded model (search methods only).
        originals: uint8 [N, S, S, 3].
        masks: float32 [N, S, S, 1], 1 = known.
        steps: the default method's steps (0: its preset's).
        batch_size: images per search batch.
        progress: where a search keeps its finished batches (None: nowhere).

    Returns:
        (completed uint8 [N, S, S, 3], seconds per image).
    """
    if method in SEARCH_METHODS:
        flags = {"steps": steps} if steps and method == "default" else {}
        completed, seconds = search_completions(search_settings(method, **flags), model,
                                                originals, masks, batch_size, progress)
        return completed, seconds / len(originals)
    targets = image_utils.to_float(originals)
    start = time.perf_counter()
    completed = targets if method == REFERENCE else classical.fill(targets, masks, method)
    seconds = (time.perf_counter() - start) / len(targets)
    return image_utils.to_uint8(completed), seconds


def search_completions(settings, model: trained.Model, originals, masks, batch_size: int,
                       progress: "RowProgress | None" = None) -> tuple[np.ndarray, float]:
    """Completions of ``originals`` (uint8 [N, S, S, 3]) by the search ``settings`` (made for
    the model's latent prior), ``batch_size`` images at a time, each batch seeded with its first
    image's index, so a row goes on from ``progress``'s finished batches to the same figures.

    Returns:
        (completed uint8 [N, S, S, 3], the seconds the row took, earlier runs' included).
    """
    settings = settings.for_model(model.config.latent_prior)
    saved, seconds = progress.restore() if progress else ({}, 0.0)
    completed, done = np.zeros_like(originals), 0
    if "completed" in saved:
        done = len(saved["completed"])
        completed[:done] = saved["completed"]
    start = time.perf_counter()
    for first in range(done, len(originals), batch_size):
        part = np.s_[first:first + batch_size]
        completed[part] = image_utils.to_uint8(search.complete(
            model.generator, model.discriminator, image_utils.to_float(originals[part]),
            masks[part], settings, seed=first, encoder=model.encoder).completed)
        if progress and progress.due():
            progress.save(seconds + time.perf_counter() - start,
                          completed=completed[:first + batch_size])
    return completed, seconds + time.perf_counter() - start


class RowProgress:
    """The finished part of one row, kept beside --output so that a stopped run given --resume
    goes on from there instead of starting the row again.

    ``<output>.<method>-<mask>.partial.npz`` holds the run's setup, the seconds spent and the
    row's arrays so far (a search row: its completed images, uint8). It is rewritten atomically
    when ``due`` (at most every ``SAVE_EVERY`` seconds: a row's images are tens of MB, so the
    caller gathers them only then) and removed once the row is in --output. A run without
    --resume starts every row again and overwrites it.
    """

    SUFFIX = ".partial.npz"
    SAVE_EVERY = 60.0  # seconds

    def __init__(self, output: str, key: str, setup: dict, resume: bool):
        self.path = f"{output}.{key.replace('/', '-')}{self.SUFFIX}"
        self.key, self.setup, self.resume = key, json.dumps(setup, sort_keys=True), resume
        self._last_save = time.monotonic()

    def restore(self) -> tuple[dict, float]:
        """(the arrays, the seconds) an earlier run of this setup saved, or ({}, 0.0): none
        saved, or no --resume.

        Raises:
            ValueError: naming --resume and the file, when it was made with another setup.
        """
        if not self.resume or not os.path.exists(self.path):
            return {}, 0.0
        with np.load(self.path) as saved:
            if str(saved["setup"]) != self.setup:
                raise ValueError(f"--resume: {self.path} (the unfinished {self.key} row) was "
                                 f"made with another setup; delete it to run the row again")
            arrays = {name: saved[name] for name in saved.files
                      if name not in ("setup", "seconds")}
            seconds = float(saved["seconds"])
        print(f"--resume: {self.key} goes on from {self.path} ({seconds:.0f} s of it done)",
              flush=True)
        return arrays, seconds

    def due(self) -> bool:
        """Whether ``SAVE_EVERY`` seconds have passed since the last save (or the start)."""
        return time.monotonic() - self._last_save >= self.SAVE_EVERY

    def save(self, seconds: float, **arrays) -> None:
        """Keeps ``arrays`` (the row so far) and ``seconds`` (its time so far)."""
        files.atomic_write(self.path, lambda temporary: np.savez(
            temporary, setup=self.setup, seconds=seconds, **arrays))
        self._last_save = time.monotonic()

    def discard(self) -> None:
        """Removes the file: the row is in --output."""
        if os.path.exists(self.path):
            os.remove(self.path)


def image_scores(completed, originals, masks) -> dict:
    """``image_metrics.completion_metrics`` of uint8 images [N, H, W, 3] with masks
    [N, H, W, 1] (1 = known): per image lists of hole_psnr, hole_ssim, psnr, ssim and l1 (on
    the hole)."""
    return image_metrics.completion_metrics(image_utils.to_float(completed),
                                            image_utils.to_float(originals), masks)


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
        ``summarise``'s row.
    """
    features = None
    if extractor is not None:
        features = original_features if reference else extractor(completed)
    return summarise(image_scores(completed, originals, masks), seconds,
                     float(1 - np.mean(masks)), features, original_features)


def summarise(scores: dict, seconds: float, hole_share: float, features=None,
              original_features=None) -> dict:
    """One row of the table from figures per image (a bench that scores its images part by
    part gathers them first).

    Args:
        scores: ``image_scores``'s lists, one value per image each.
        seconds: per image.
        hole_share: the hole's share of the pixels, over all the images.
        features: the Inception features [N, 2048] of the completed images, for the realism
            figures, or None.
        original_features: the features [N, 2048] of the originals, in the same order.

    Returns:
        The means over the images (NaN ignored) of hole_psnr, hole_ssim, psnr, ssim, l1 with
        seconds_per_image, num_images and hole_share, and with ``features`` also fid, kid,
        u_ids and p_ids (``distribution_metrics.realism``).
    """
    row = {key: float(np.nanmean(values)) for key, values in scores.items()}
    row.update(seconds_per_image=seconds, num_images=len(scores["hole_psnr"]),
               hole_share=hole_share)
    if features is not None:
        realism = distribution_metrics.realism(features, original_features)
        row.update({key: realism[key] for key in ("fid", "kid", "u_ids", "p_ids")})
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
    if args.resume and not args.output:
        raise ValueError("--resume needs --output: the file whose rows it keeps")


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


SETUP = "setup"  # the JSON key of what the rows were made with, next to the "<method>/<mask>" rows


def path_or_name(value: str) -> str:
    """``value`` made absolute when it is a path (a file, a folder or a checkpoint prefix), else
    as it is (a packaged model's name, "synthetic")."""
    if os.path.exists(value) or os.path.exists(value + ".index"):
        return os.path.abspath(value)
    return value


def data_crop(args, model: trained.Model) -> str:
    """The crop of --data: --crop, else the model's training crop."""
    return args.crop or model.config.crop


def run_setup(args, model: trained.Model) -> dict:
    """What this run's rows are made with: ``--output``'s "setup"."""
    return {"bench": "complete_quality", "model": path_or_name(model.source),
            "model_step": model.step, "data": path_or_name(args.data),
            "crop": data_crop(args, model),
            "num_images": args.num_images, "steps": args.steps, "batch_size": args.batch_size,
            "realism": args.realism}


def _differs(path: str, key: str, made, wanted) -> str:
    """The --resume refusal for one setting of "setup" that differs."""
    if key == "bench":
        return f"--resume: {path} was made by bench/{made}.py, not bench/{wanted}.py"
    if key == "model_step":
        return f"--resume: {path} was made with the model at step {made}, not {wanted}"
    if key == "realism":
        return (f"--resume: {path} was made {'with' if made else 'without'} --realism, not "
                f"{'with' if wanted else 'without'} it")
    return f"--resume: {path} was made with --{key}={made}, not {wanted}"


def read_results(path: str, setup: dict) -> dict:
    """--resume: the rows of the JSON ``path`` (null figures back to inf for PSNR, NaN else),
    {} when there is no file yet.

    Raises:
        ValueError: naming --resume, when the file is no results file of a bench, has no
            "setup" or one that differs from ``setup`` (a setting of another value, missing,
            or one ``setup`` does not have).
    """
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as handle:
            table = json.load(handle)
    except (OSError, ValueError) as error:
        raise ValueError(f"--resume: cannot read {path}: {error}") from error
    if not isinstance(table, dict) or not all(isinstance(row, dict) for row in table.values()):
        raise ValueError(f"--resume: {path} is not a results file of a bench")
    made = table.pop(SETUP, None)
    if made is None:
        raise ValueError(f'--resume: {path} has no "{SETUP}" (written before --resume): what its '
                         f"rows were made with is unknown; run without --resume to replace it")
    for key, wanted in setup.items():
        if key not in made:
            raise ValueError(f'--resume: {path}\'s "{SETUP}" does not record {key}')
        if made[key] != wanted:
            raise ValueError(_differs(path, key, made[key], wanted))
    unset = sorted(set(made) - set(setup))
    if unset:
        raise ValueError(f"--resume: {path} was made with --{unset[0]}={made[unset[0]]}, which "
                         f"this run does not set")

    def figure(name, value):
        if value is None:
            return math.inf if "psnr" in name else math.nan
        return value

    return {key: {name: figure(name, value) for name, value in row.items()}
            for key, row in table.items()}


def write_results(path: str, results: dict, setup: dict) -> None:
    """Writes ``setup`` and the rows of ``results`` as JSON atomically, infinite or NaN figures
    as null."""
    def finite(value):
        return value if not isinstance(value, float) or math.isfinite(value) else None

    table = {SETUP: setup}
    table.update({key: {name: finite(value) for name, value in row.items()}
                  for key, row in results.items()})
    files.atomic_write_text(path, json.dumps(table, indent=2))


def header(realism: bool) -> str:
    """The table's heading and rule (realism: with the realism columns)."""
    header = (f"{'mask':9s} {'method':8s} {'hole PSNR':>9s} {'hole SSIM':>9s} {'PSNR':>6s} "
              f"{'hole L1':>7s} {'s/image':>8s} {'x bamos':>7s}")
    if realism:
        header += f" {'FID':>7s} {'KID x1e3':>8s} {'U-IDS':>6s} {'P-IDS':>6s}"
    return header + "\n" + "-" * len(header)


def format_row(kind: str, method: str, row: dict, speedup: str, kept: bool = False) -> str:
    """One line of the table for ``score``'s ``row`` (kept: read from --resume's file)."""
    line = (f"{kind:9s} {method:8s} {row['hole_psnr']:9.2f} {row['hole_ssim']:9.3f} "
            f"{row['psnr']:6.2f} {row['l1']:7.4f} {row['seconds_per_image']:8.3f} {speedup:>7s}")
    if "fid" in row:
        line += (f" {row['fid']:7.2f} {1e3 * row['kid']:8.2f} {row['u_ids']:6.3f} "
                 f"{row['p_ids']:6.3f}")
    return line + ("  kept" if kept else "")


def speedup(results: dict, kind: str, seconds: float) -> str:
    """The "x bamos" column: the bamos row's seconds per image on mask ``kind`` (computed in this
    run or kept from --resume's file) over ``seconds``; "-" with no bamos row yet."""
    bamos = results.get(f"bamos/{kind}", {}).get("seconds_per_image")
    return f"{bamos / seconds:.1f}" if bamos and seconds else "-"


def run(args) -> None:
    """The benchmark: loads model and data, completes, scores, prints, writes."""
    check_args(args)
    model = loading.load(args.model)
    setup = run_setup(args, model)
    results = read_results(args.output, setup) if args.resume else {}
    size = model.config.image_size
    originals = pipeline.load_images(args.data, crop=data_crop(args, model), image_size=size,
                                     max_images=args.num_images)
    print(f"model {model.source}, {len(originals)} images of {args.data}, "
          f"{size}x{size}")
    kinds, methods = args.masks.split(","), args.methods.split(",")
    cells = [f"{method}/{kind}" for kind in kinds for method in methods]
    todo = [cell for cell in cells if cell not in results]
    if args.resume:
        others = len(set(results) - set(cells))
        print(f"--resume: {len(cells) - len(todo)} of {len(cells)} rows kept from {args.output}, "
              f"{len(todo)} to run" + (f" (and {others} other rows it keeps)" if others else ""))
    extractor, original_features = None, None
    if args.realism:
        check_realism_count(len(originals))
        print(f"realism: {distribution_metrics.IDS_FOLDS}-fold held-out linear SVM "
              f"(C = {distribution_metrics.IDS_C}, standardised features), completions of each "
              f"half against the other half's real faces, {len(originals) // 2} a side",
              flush=True)
        if todo:
            extractor = inception.FeatureExtractor(args.inception)
            original_features = extractor(originals)
    all_masks = {kind: mask_lib.make_masks(kind, len(originals), size, seed=0)
                 for kind in kinds}
    for kind, masks in all_masks.items():
        print(f"mask {kind}: the hole is {100 * (1 - masks.mean()):.1f}% of the pixels")
    print(header(args.realism), flush=True)
    for kind, masks in all_masks.items():
        for method in methods:
            key = f"{method}/{kind}"
            kept = key in results
            progress = None
            if args.output and not kept:
                progress = RowProgress(args.output, key, setup, args.resume)
            if not kept:
                completed, seconds = complete(method, model, originals, masks, steps=args.steps,
                                              batch_size=args.batch_size, progress=progress)
                results[key] = score(completed, originals, masks, seconds, extractor,
                                     original_features, reference=method == REFERENCE)
            row = results[key]
            print(format_row(kind, method, row, speedup(results, kind, row["seconds_per_image"]),
                             kept), flush=True)
            if progress:
                write_results(args.output, results, setup)
                progress.discard()
    if args.output:
        write_results(args.output, results, setup)
        print(f"Written: {args.output}")


def parse_args(argv=None) -> argparse.Namespace:
    """The flags (of ``sys.argv`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help=MODEL_HELP)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--crop", default="", help="crop of --data (default: the model's)")
    parser.add_argument("--num_images", type=int, default=256)
    parser.add_argument("--masks", default="center,random,left,thick")
    parser.add_argument("--methods", default="bamos,default,fast",
                        help=f"comma-separated, of {', '.join(METHODS)}")
    parser.add_argument("--steps", type=int, default=0,
                        help="the default method's steps (bamos and fast set their own)")
    parser.add_argument("--batch_size", type=int, default=64)
    add_table_flags(parser)
    return parser.parse_args(argv)


def add_table_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of the realism columns and the JSON table, shared with photo_quality.py:
    --realism, --inception, --output, --resume."""
    parser.add_argument("--realism", action="store_true",
                        help="also FID, KID, U-IDS and P-IDS (needs --num_images >= 400)")
    parser.add_argument("--inception", default=DEFAULT_INCEPTION,
                        help="the FID Inception weights file (for --realism)")
    parser.add_argument("--output", default="", help="also write the figures as JSON here")
    parser.add_argument("--resume", action="store_true",
                        help="keep the rows already in --output (made with the same setup) and "
                             "run only the missing ones")


def main():
    try:
        run(parse_args())
    except ValueError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
