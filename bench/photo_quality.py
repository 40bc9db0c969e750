"""Completing faces framed unlike the model's training crops, through the photo path (--align),
scored at the photo's resolution against classical fills of the same holes.

Each of the first N FFHQ faces of ``ffhq128_dev.zip`` (128x128, FFHQ's own alignment: the whole
head with some background) is a photo with one hole, of the kinds ``--holes`` names (``HOLES``):
``eyes_nose``, a box over both eyes and the nose (34x58 px at 128 px); ``half_face``, from the
right cheek to the frame's edge, about half of it inside celeba64's crop of the face and half
outside (hair, background); ``background``, a strip at the frame's right edge, off the face
(hair, background). For ``half_face`` and ``background`` the hole's pixels are mid-grey in the
photos the methods get, as a painted-over scratch would be: whatever a method leaves as it was
scores as grey, not as the truth. The search methods find and align the face with MTCNN,
complete it in the model's framing, blend it back and fill the rest of the hole from its
surroundings (``photo.completion.complete_photo``: what ``complete.py --align`` does; a photo
whose face is not found is filled from its surroundings entirely; the printout counts the faces
found). ``<method>_faces_only`` is the search method with the rest of the hole left mid-grey
(the photo path before every hole pixel was filled). The classical fills (telea, ns, mean) fill
the same hole of the whole photo; ``patchmatch`` is PyPatchMatch's exemplar fill (PatchMatch,
Barnes et al. 2009, patch radius ``PATCH_RADIUS``; ``pip install pypatchmatch``, in the
``bench`` extra); ``real`` is the photo itself (the reference row). Per method and hole: hole
PSNR and SSIM, full-photo PSNR, hole L1 and seconds per photo (detection included); with
--realism also FID, KID, U-IDS and P-IDS (``distribution_metrics.realism``, the protocol of
bench/complete_quality.py) of the completed photos, which are face crops in FFHQ's framing
already, against the real photos of the other half.

--output writes the JSON of bench/complete_quality.py (atomically after every row, so a stopped
run leaves the rows finished so far; rows are keyed "<method>/<hole>"), its "setup" here
{"bench", "model", "model_step", "data", "num_images", "realism"} (the search starts are seeded
per photo, so there is no batch size to record); --resume keeps the rows already in it and runs
only the missing ones, refusing a file of another setup, as there.

    python bench/photo_quality.py --model=celeba64 [--num_images=400] \\
        [--methods=fast,telea,ns,mean,real] [--holes=eyes_nose,half_face,background] \\
        [--realism] [--output=photo_results.json [--resume]]

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
from dcgan_tf.photo import background, completion as photo_lib, detect  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402
from dcgan_tf.serving.specs import MODEL_HELP  # noqa: E402

DEFAULT_DATA = os.path.join(table.SHARED, "data", "ffhq128_dev.zip")
# Each hole as (top, bottom, left, right) fractions of FFHQ's frame. The shares of celeba64's
# crop were measured with MTCNN on the first 60 dev faces (align.footprint).
HOLES = {
    # Both eyes (MTCNN finds them at 37% and 62% across, 47% down) and the nose (61% down).
    "eyes_nose": (0.39, 0.66, 0.27, 0.73),
    # The right cheek to the frame's edge: 51% (+- 6%) of it inside the face's crop.
    "half_face": (0.45, 0.70, 0.70, 1.0),
    # The frame's right edge, beside the face: 6% (+- 8%) of it inside the face's crop.
    "background": (0.35, 0.65, 0.82, 1.0),
}
GREYED = ("half_face", "background")  # holes whose pixels the methods get as mid-grey
FACES_ONLY = "_faces_only"  # a search method's row with only the faces' part of the hole filled
EXEMPLAR = "patchmatch"
PATCH_RADIUS = 3  # PyPatchMatch's patches span 7x7 px (its examples' size; 7 and 15 scored lower)
METHODS = (SEARCH_METHODS + tuple(method + FACES_ONLY for method in SEARCH_METHODS)
           + classical.METHODS + (EXEMPLAR, table.REFERENCE))


def hole_mask(height: int, width: int, hole: str = "eyes_nose") -> np.ndarray:
    """The hole ``HOLES[hole]`` as a mask float32 [H, W], 1 = known."""
    top, bottom, left, right = (round(f * side) for f, side in zip(
        HOLES[hole], (height, height, width, width)))
    mask = np.ones((height, width), np.float32)
    mask[top:bottom, left:right] = 0.0
    return mask


def complete_photos(method: str, photos, mask, completers, faces, detect_seconds: float):
    """Completes every photo with one method.

    Args:
        method: one of ``METHODS``.
        photos: uint8 [N, H, W, 3], the hole's pixels as the methods get them.
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
    elif method == EXEMPLAR:
        completed = np.stack([_exemplar_fill(photo, mask) for photo in photos])
    else:
        completed = np.stack([_complete_photo(completers(index), photo, mask, found,
                                              method.endswith(FACES_ONLY))
                              for index, (photo, found) in enumerate(zip(photos, faces))])
    seconds = (time.perf_counter() - start) / len(photos)
    return completed, seconds + (detect_seconds if _search_method(method) else 0.0)


def _search_method(method: str) -> str | None:
    """The search method a row runs (``fast`` for ``fast_faces_only``), or None."""
    base = method.removesuffix(FACES_ONLY)
    return base if base in SEARCH_METHODS else None


def _complete_photo(completer, photo, mask, detections, faces_only: bool) -> np.ndarray:
    """One photo through the photo path; with ``faces_only``, the part of the hole the faces'
    models did not fill is mid-grey."""
    result = photo_lib.complete_photo(completer, photo, mask=mask, detections=detections)
    if not faces_only:
        return result.completed
    rest = (result.sources == background.CLASSICAL)[..., np.newaxis]
    return np.where(rest, np.uint8(128), result.completed)


def _exemplar_fill(photo, mask) -> np.ndarray:
    """PyPatchMatch's fill of the hole (mask < 0.5), seeded: uint8 [H, W, 3]."""
    from patchmatch import patch_match
    patch_match.set_random_seed(0)
    return patch_match.inpaint(photo, (mask < 0.5).astype(np.uint8) * 255,
                               patch_size=PATCH_RADIUS)


def run_setup(args, model) -> dict:
    """What this run's rows are made with: ``--output``'s "setup"."""
    return {"bench": "photo_quality", "model": table.path_or_name(model.source),
            "model_step": model.step, "data": table.path_or_name(args.data),
            "num_images": args.num_images, "realism": args.realism}


def run(args) -> None:
    """The benchmark: loads, detects, completes, scores, prints, writes."""
    methods, holes = args.methods.split(","), args.holes.split(",")
    for flag, chosen, choices in (("--methods", methods, METHODS), ("--holes", holes, HOLES)):
        unknown = sorted(set(chosen) - set(choices))
        if unknown:
            raise ValueError(f"{flag}: unknown {', '.join(unknown)}; choose from "
                             f"{', '.join(choices)}")
    if args.resume and not args.output:
        raise ValueError("--resume needs --output: the file whose rows it keeps")
    if args.realism:
        table.check_realism_flags(args.inception)
    model = loading.load(args.model)
    setup = run_setup(args, model)
    results = table.read_results(args.output, setup) if args.resume else {}
    todo = [(method, hole) for hole in holes for method in methods
            if f"{method}/{hole}" not in results]
    if EXEMPLAR in {method for method, _ in todo}:
        _check_exemplar()
    photos = [decode.read_rgb(encoded, name)
              for name, encoded in pipeline.read_encoded(args.data, args.num_images)]
    if len({photo.shape for photo in photos}) > 1:
        raise ValueError(f"--data {args.data}: the photos must share one size")
    photos = np.stack(photos)
    if args.realism:
        table.check_realism_count(len(photos))
    print(f"model {model.source}, {len(photos)} photos of {args.data} at "
          f"{photos.shape[2]}x{photos.shape[1]}")
    if args.resume:
        print(f"--resume: {len(methods) * len(holes) - len(todo)} of "
              f"{len(methods) * len(holes)} rows kept from {args.output}, {len(todo)} to run")
    faces, detect_seconds = [None] * len(photos), 0.0
    if any(_search_method(method) for method, _ in todo):
        start = time.perf_counter()
        faces = [detect.detect_faces(photo) for photo in photos]
        detect_seconds = (time.perf_counter() - start) / len(photos)
        print(f"a face found in {sum(bool(found.faces) for found in faces)} photos (a photo "
              f"without one is filled from its surroundings)")
    extractor = original_features = None
    if args.realism and todo:
        extractor = inception.FeatureExtractor(args.inception)
        original_features = extractor(photos)
    print(table.header(args.realism))
    for hole in holes:
        mask = hole_mask(*photos.shape[1:3], hole)
        given = np.where(mask[..., np.newaxis] > 0.5, photos, np.uint8(128)) \
            if hole in GREYED else photos
        masks = np.broadcast_to(mask[np.newaxis, ..., np.newaxis], photos.shape[:3] + (1,))
        for method in methods:
            key = f"{method}/{hole}"
            kept = key in results
            if not kept:
                search = _search_method(method)
                settings = (search_settings(search).for_model(model.config.latent_prior)
                            if search else None)
                completed, seconds = complete_photos(
                    method, photos if method == table.REFERENCE else given, mask,
                    lambda index: photo_lib.search_completer(model, settings, seed=index),
                    faces, detect_seconds)
                results[key] = table.score(completed, photos, masks, seconds, extractor,
                                           original_features,
                                           reference=method == table.REFERENCE)
            print(table.format_row(hole, method, results[key], "-", kept), flush=True)
            if args.output and not kept:
                table.write_results(args.output, results, setup)
    if args.output:
        table.write_results(args.output, results, setup)
        print(f"Written: {args.output}")


def _check_exemplar() -> None:
    """Raises ValueError naming --methods when PyPatchMatch is not installed or cannot load."""
    try:
        from patchmatch import patch_match
    except ImportError:
        patch_match = None
    if patch_match is None or not patch_match.patchmatch_available:
        raise ValueError(f"--methods={EXEMPLAR} needs PyPatchMatch: pip install pypatchmatch "
                         f"(or pip install -e \".[bench]\")")


def parse_args(argv=None) -> argparse.Namespace:
    """The flags (of ``sys.argv`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help=MODEL_HELP)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--num_images", type=int, default=400)
    parser.add_argument("--methods", default="fast,telea,ns,mean,real",
                        help=f"comma-separated, of {', '.join(METHODS)}")
    parser.add_argument("--holes", default="eyes_nose",
                        help=f"comma-separated, of {', '.join(HOLES)}")
    table.add_table_flags(parser)
    return parser.parse_args(argv)


def main():
    try:
        run(parse_args())
    except ValueError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
