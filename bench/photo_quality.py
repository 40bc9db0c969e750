"""Completing faces framed unlike the model's training crops, through the photo path (--align),
scored at the photo's resolution against classical fills of the same holes.

Each of the first N FFHQ faces of ``ffhq128_dev.zip`` (128x128, FFHQ's own alignment: the whole
head with some background) is a photo with one hole, a box over both eyes and the nose (rows
``HOLE`` of FFHQ's frame: 34x58 px at 128 px). The search methods find and align the face with
MTCNN, complete it in the model's framing and blend it back
(``photo.completion.complete_photo``: what ``complete.py --align`` does); a photo whose face is
not found keeps a mid-grey hole (the printout counts the faces found). The classical fills
(telea, ns, mean) fill the same hole of the whole photo, and ``real`` is the photo itself (the
reference row). Per method: hole PSNR and SSIM, full-photo PSNR, hole L1 and seconds per photo
(detection included); with --realism also FID, KID, U-IDS and P-IDS
(``distribution_metrics.realism``, the protocol of bench/complete_quality.py) of the completed
photos, which are face crops in FFHQ's framing already, against the real photos of the other
half.

--output writes the JSON of bench/complete_quality.py (atomically after every row, so a stopped
run leaves the rows finished so far), its "setup" here {"bench", "model", "model_step", "data",
"num_images", "realism"} (the search starts are seeded per photo, so there is no batch size to
record); --resume keeps the rows already in it and runs only the missing methods, refusing a file
of another setup, as there.

    python bench/photo_quality.py --model=celeba64 [--num_images=400] \\
        [--methods=fast,telea,ns,mean,real] [--realism] \\
        [--output=photo_results.json [--resume]]

FFHQ is CC BY-NC-SA 4.0 (NVIDIA); never commit its images or anything made from them.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import complete_quality as table  # noqa: E402  (the sibling bench: scores, checks, JSON)
from dcgan_tf.data import decode, pipeline  # noqa: E402
from dcgan_tf.evaluation import inception  # noqa: E402
from dcgan_tf.inpainting import classical  # noqa: E402
from dcgan_tf.inpainting.settings import METHODS as SEARCH_METHODS, search_settings  # noqa: E402
from dcgan_tf.photo import align, completion as photo_lib, detect  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402
from dcgan_tf.serving.specs import MODEL_HELP  # noqa: E402

DEFAULT_DATA = os.path.join(table.SHARED, "data", "ffhq128_dev.zip")
MASK_NAME = "eyes_nose"
# The hole as (top, bottom, left, right) fractions of FFHQ's frame: both eyes (MTCNN finds them
# at 37% and 62% across, 47% down on the dev faces) and the nose (61% down).
HOLE = (0.39, 0.66, 0.27, 0.73)
METHODS = SEARCH_METHODS + classical.METHODS + (table.REFERENCE,)


def hole_mask(height: int, width: int) -> np.ndarray:
    """The ``HOLE`` box as a mask float32 [H, W], 1 = known."""
    top, bottom, left, right = (round(f * side) for f, side in zip(
        HOLE, (height, height, width, width)))
    mask = np.ones((height, width), np.float32)
    mask[top:bottom, left:right] = 0.0
    return mask


def complete_photos(method: str, photos, mask, completers, faces, detect_seconds: float):
    """Completes every photo with one method.

    Args:
        method: one of ``METHODS``.
        photos: uint8 [N, H, W, 3].
        mask: float32 [H, W], 1 = known, the same hole in every photo.
        completers: a function index -> ``photo.completion.CropCompleter`` (search methods only).
        faces: each photo's ``detect.Detections`` (None for the methods without search).
        detect_seconds: the detection's time per photo, counted to the search methods.

    Returns:
        (completed uint8 [N, H, W, 3], seconds per photo).
    """
    start = time.perf_counter()
    if method == table.REFERENCE:
        completed = photos.copy()
    elif method in classical.METHODS:
        completed = np.stack([classical.fill_photo(photo, mask, method) for photo in photos])
    else:
        completed = np.stack([_complete_photo(completers(index), photo, mask, found)
                              for index, (photo, found) in enumerate(zip(photos, faces))])
    seconds = (time.perf_counter() - start) / len(photos)
    return completed, seconds + (detect_seconds if method in SEARCH_METHODS else 0.0)


def _complete_photo(completer, photo, mask, detections) -> np.ndarray:
    """One photo through the photo path; mid-grey in the hole when it cannot be aligned."""
    try:
        return photo_lib.complete_photo(completer, photo, mask=mask,
                                        detections=detections).completed
    except align.AlignmentError:
        return np.where(mask[..., np.newaxis] > 0.5, photo, 128).astype(np.uint8)


def run_setup(args, model) -> dict:
    """What this run's rows are made with: ``--output``'s "setup"."""
    return {"bench": "photo_quality", "model": table.path_or_name(model.source),
            "model_step": model.step, "data": table.path_or_name(args.data),
            "num_images": args.num_images, "realism": args.realism}


def run(args) -> None:
    """The benchmark: loads, detects, completes, scores, prints, writes."""
    methods = args.methods.split(",")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"--methods: unknown {', '.join(unknown)}; choose from "
                         f"{', '.join(METHODS)}")
    if args.resume and not args.output:
        raise ValueError("--resume needs --output: the file whose rows it keeps")
    if args.realism:
        table.check_realism_flags(args.inception)
    model = loading.load(args.model)
    setup = run_setup(args, model)
    results = table.read_results(args.output, setup) if args.resume else {}
    todo = [method for method in methods if f"{method}/{MASK_NAME}" not in results]
    photos = [decode.read_rgb(encoded, name)
              for name, encoded in pipeline.read_encoded(args.data, args.num_images)]
    if len({photo.shape for photo in photos}) > 1:
        raise ValueError(f"--data {args.data}: the photos must share one size")
    photos = np.stack(photos)
    if args.realism:
        table.check_realism_count(len(photos))
    mask = hole_mask(*photos.shape[1:3])
    print(f"model {model.source}, {len(photos)} photos of {args.data} at "
          f"{photos.shape[2]}x{photos.shape[1]}, hole {MASK_NAME} "
          f"{100 * (1 - mask.mean()):.1f}% of the pixels")
    if args.resume:
        print(f"--resume: {len(methods) - len(todo)} of {len(methods)} rows kept from "
              f"{args.output}, {len(todo)} to run")
    faces, detect_seconds = [None] * len(photos), 0.0
    if set(todo) & set(SEARCH_METHODS):
        start = time.perf_counter()
        faces = [detect.detect_faces(photo) for photo in photos]
        detect_seconds = (time.perf_counter() - start) / len(photos)
        print(f"a face found in {sum(bool(found.faces) for found in faces)} photos (a photo "
              f"without one keeps a mid-grey hole)")
    extractor = original_features = None
    if args.realism and todo:
        extractor = inception.FeatureExtractor(args.inception)
        original_features = extractor(photos)
    masks = np.broadcast_to(mask[np.newaxis, ..., np.newaxis], photos.shape[:3] + (1,))
    print(table.header(args.realism))
    for method in methods:
        key = f"{method}/{MASK_NAME}"
        kept = key in results
        if not kept:
            settings = (search_settings(method).for_model(model.config.latent_prior)
                        if method in SEARCH_METHODS else None)
            completed, seconds = complete_photos(
                method, photos, mask,
                lambda index: photo_lib.search_completer(model, settings, seed=index), faces,
                detect_seconds)
            results[key] = table.score(completed, photos, masks, seconds, extractor,
                                       original_features, reference=method == table.REFERENCE)
        print(table.format_row(MASK_NAME, method, results[key], "-", kept), flush=True)
        if args.output and not kept:
            table.write_results(args.output, results, setup)
    if args.output:
        table.write_results(args.output, results, setup)
        print(f"Written: {args.output}")


def parse_args(argv=None) -> argparse.Namespace:
    """The flags (of ``sys.argv`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help=MODEL_HELP)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--num_images", type=int, default=400)
    parser.add_argument("--methods", default="fast,telea,ns,mean,real",
                        help=f"comma-separated, of {', '.join(METHODS)}")
    table.add_table_flags(parser)
    return parser.parse_args(argv)


def main():
    try:
        run(parse_args())
    except ValueError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
