"""Completing faces framed unlike the model's training crops, through the photo path (--align),
scored at the photo's resolution against classical fills of the same holes.

Scenes (--scenes): the photos and their holes depend on the photo's index only, never on
--model, so two models are compared on the same photos and the same holes.

``ffhq`` (the default): each of the first N FFHQ faces of ``ffhq128_dev.zip`` (128x128, FFHQ's
own alignment: the whole head with some background) is a photo as it is, with one hole at the
same place in every photo, of the kinds ``--holes`` names (``HOLES``): ``eyes_nose``, a box over
both eyes and the nose (34x58 px at 128 px); ``half_face``, from the right cheek to the frame's
edge, about half of it inside celeba64's crop of the face and half outside (hair, background);
``background``, a strip at the frame's right edge, off the face (hair, background). For
``half_face`` and ``background`` the hole's pixels are mid-grey in the photos the methods get,
as a painted-over scratch would be: whatever a method leaves as it was scores as grey, not as
the truth.

``celeba_canvas``: each of the first N CelebA aligned images of ``celeba_valid.zip`` (178x218
frames) is placed into a ``CANVAS`` x ``CANVAS`` (464x464) canvas by a random similarity drawn
from ``CANVAS_SEED`` and the photo's index: turned by up to +-20 degrees, the frame shown at
1.25-2.5x its size (celeba64's 108 px crop of the face spans 135-270 px, 2.1-4.2x the model's
64 px, the regime where its completion is enlarged; a celeba_face model's 144 px crop 1.4-2.8x
its 128 px), shifted anywhere the face's square (``FACE_SQUARE``: the celeba_face crop, 144 px
from row 50) stays whole in the canvas; the rest of the canvas is the frame reflected at its
edges (mirror images of the face surround it). 464 px is the smallest multiple of 16 that holds
the largest placement (that square at 2.5x, turned 20 degrees, spans 462 px). Each hole
(``CANVAS_HOLES``) is a box of the frame carried into the canvas by the photo's transform
(nearest neighbour), so every canvas has its own: ``eyes_nose``, both eyes and the nose (rows
100-142, columns 54-122 of the frame: MTCNN puts the eyes at y 112, x 69 and 108 and the nose
tip at y 135 +- 4 on celeba_train; the box keeps FFHQ's eyes_nose margins in eye distances).

Methods: the search methods find and align the face with MTCNN, complete it in the model's
framing, blend it back and fill the rest of the hole from its surroundings
(``photo.completion.complete_photo``: what ``complete.py --align`` does; a photo whose face is
not found is filled from its surroundings entirely; the printout counts the faces found).
``<method>_faces_only`` is the search method with the rest of the hole left mid-grey (the photo
path before every hole pixel was filled). The classical fills (telea, ns, mean) fill the same
hole of the whole photo; ``patchmatch`` is PyPatchMatch's exemplar fill (PatchMatch, Barnes et
al. 2009, patch radius ``PATCH_RADIUS``; ``pip install pypatchmatch``, in the ``bench`` extra;
on canvases it may copy the mirrored face); ``real`` is the photo itself (the reference row).

Per method and hole: hole PSNR and SSIM, full-photo PSNR, hole L1 and seconds per photo
(detection included), at the photo's (the canvas's) resolution; hole_share is the hole's mean
share of the photos. With --realism also FID, KID, U-IDS and P-IDS
(``distribution_metrics.realism``, the protocol of bench/complete_quality.py) of face crops
against the real crops of the other half: for ``ffhq`` the completed photos themselves (face
crops in FFHQ's framing already); for ``celeba_canvas`` the face's square cut from each
completed canvas by its true transform (back to the frame, ``FACE_SQUARE``, at
``REALISM_SIZE`` = 128 px), the same cut for every model, and the real crops are the same cut of
the real canvases (so resampling does not tell real from completed). Photos are completed and
scored ``PHOTOS_AT_ONCE`` at a time and canvases are made again from the frames for every row,
so a run holds N frames (0.12 MB each) and realism crops (0.05 MB each), never N canvases
(0.65 MB each) nor float copies of them.

--output writes the JSON of bench/complete_quality.py (atomically after every row, so a stopped
run leaves the rows finished so far; rows are keyed "<method>/<hole>"), its "setup" here
{"bench", "model", "model_step", "data", "num_images", "realism"}, and "scenes" with
--scenes=celeba_canvas (the search starts are seeded per photo, so there is no batch size to
record); --resume keeps the rows already in it and runs only the missing ones, refusing a file
of another setup, and goes on from an unfinished row's finished parts (its
<output>.<method>-<hole>.partial.npz, at most a minute old: the parts' scores and realism crops,
so never commit one), as there.

    python bench/photo_quality.py --model=celeba64 [--num_images=400] \\
        [--methods=fast,telea,ns,mean,real] [--holes=eyes_nose,half_face,background] \\
        [--realism] [--output=photo_results.json [--resume]]
    python bench/photo_quality.py --scenes=celeba_canvas --model=celeba64 \\
        [--data=../shared/data/celeba_valid.zip] --num_images=2000 \\
        --methods=fast,telea,real --realism --output=canvas_celeba64.json
    (the same with --model=<the celeba128 run> --output=canvas_celeba128.json: the same
    canvases and holes)

FFHQ is CC BY-NC-SA 4.0 (NVIDIA) and CelebA is for non-commercial research only: never commit
their images or anything made from them.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import complete_quality as table  # noqa: E402  (the sibling bench: scores, checks, JSON)
from dcgan_tf.data import crops, decode, pipeline  # noqa: E402
from dcgan_tf.evaluation import inception  # noqa: E402
from dcgan_tf.inpainting import classical  # noqa: E402
from dcgan_tf.inpainting.settings import METHODS as SEARCH_METHODS, search_settings  # noqa: E402
from dcgan_tf.photo import align, background, completion as photo_lib, detect, scenes  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402
from dcgan_tf.serving.specs import MODEL_HELP  # noqa: E402

DEFAULT_DATA = {"ffhq": os.path.join(table.SHARED, "data", "ffhq128_dev.zip"),
                "celeba_canvas": table.DEFAULT_DATA}  # celeba_valid.zip: held-out faces
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
PHOTOS_AT_ONCE = 16  # photos completed and scored together: ~0.4 GB of float copies at 464 px

# --scenes=celeba_canvas. CANVAS holds the largest placement: the face's square at 2.5x turned
# 20 degrees spans 144 * 2.5 * (cos 20 + sin 20) = 462 px.
CANVAS = 464
CANVAS_SEED = 9_000_023  # with the photo's index, the only seed of a canvas's placement
MAX_TURN = 20.0  # degrees either way
FRAME_SCALES = (1.25, 2.5)  # canvas pixels per frame pixel
# The face's square in CelebA's 178x218 frame, (left, top, side): the celeba_face crop, the whole
# face from hairline to chin; kept whole in the canvas and cut for the realism figures.
FACE_SQUARE = ((crops.CELEBA_SIZE[1] - crops.CELEBA_FACE_CROP) // 2, crops.CELEBA_FACE_TOP,
               crops.CELEBA_FACE_CROP)
REALISM_SIZE = 128  # px of the realism crops (FACE_SQUARE only shrinks to it)
# Each hole as (top, bottom, left, right) pixels of CelebA's 178x218 frame, bottom and right
# exclusive. MTCNN on 34 of the first 40 celeba_train frames: eyes at y 111.6 (+- 1), x 68.9 and
# 108.2 (+- 2), nose tip at x 86 +- 6, y 135 +- 4 (at most 142), mouth corners at y 152; the
# box has FFHQ's eyes_nose margins in eye distances (0.3 above the eyes, 0.2 below the nose,
# 0.37 beside the eyes).
CANVAS_HOLES = {"eyes_nose": (100, 143, 54, 123)}


def hole_mask(height: int, width: int, hole: str = "eyes_nose") -> np.ndarray:
    """The hole ``HOLES[hole]`` as a mask float32 [H, W], 1 = known."""
    top, bottom, left, right = (round(f * side) for f, side in zip(
        HOLES[hole], (height, height, width, width)))
    mask = np.ones((height, width), np.float32)
    mask[top:bottom, left:right] = 0.0
    return mask


class FfhqPhotos:
    """``--scenes=ffhq``: photos uint8 [N, H, W, 3] as they are, the hole ``HOLES[hole]`` at the
    same place in each, realism on the whole photos."""

    holes = HOLES
    realism_note = "realism on the whole photos (face crops in FFHQ's framing already)"

    def __init__(self, photos: np.ndarray):
        self._photos = photos

    @classmethod
    def from_images(cls, named: list, data: str) -> "FfhqPhotos":
        """The photos of (name, uint8 [H, W, 3]) pairs read from --data ``data``.

        Raises:
            ValueError: naming --data, when the photos differ in size.
        """
        if len({image.shape for _, image in named}) > 1:
            raise ValueError(f"--data {data}: the photos must share one size")
        return cls(np.stack([image for _, image in named]))

    def __len__(self) -> int:
        return len(self._photos)

    def describe(self, data: str) -> str:
        """What the photos are, for the printout."""
        return (f"{len(self)} photos of {data} at {self._photos.shape[2]}x"
                f"{self._photos.shape[1]}")

    def photos(self, indices) -> np.ndarray:
        """uint8 [n, H, W, 3]: the photos at ``indices``."""
        return self._photos[indices]

    def masks(self, indices, hole: str) -> np.ndarray:
        """float32 [n, H, W], 1 = known: the same hole for every photo."""
        mask = hole_mask(*self._photos.shape[1:3], hole)
        return np.broadcast_to(mask, (len(indices),) + mask.shape)

    def realism_images(self, images: np.ndarray, indices) -> np.ndarray:
        """The images [n, H, W, 3] themselves: face crops in FFHQ's framing already."""
        return images


class CelebaCanvases:
    """``--scenes=celeba_canvas``: CelebA frames uint8 [218, 178, 3], each placed in its canvas
    (``canvas_placement``); canvases [CANVAS, CANVAS, 3] are made again whenever asked for, so
    only the frames are held."""

    holes = CANVAS_HOLES
    realism_note = (f"realism on the face's square ({FACE_SQUARE[2]} px from row "
                    f"{FACE_SQUARE[1]} of the frame) cut from each canvas by its placement, at "
                    f"{REALISM_SIZE} px")

    def __init__(self, frames: list):
        self._frames = frames
        self.placements = [canvas_placement(index) for index in range(len(frames))]

    @classmethod
    def from_images(cls, named: list, data: str) -> "CelebaCanvases":
        """The canvases of (name, uint8 [218, 178, 3]) pairs read from --data ``data``.

        Raises:
            ValueError: naming --data, when an image is not a CelebA aligned frame (178x218).
        """
        for name, image in named:
            if image.shape[:2] != crops.CELEBA_SIZE:
                raise ValueError(f"--data {data}: --scenes=celeba_canvas places CelebA's "
                                 f"aligned 178x218 frames; {name} is {image.shape[1]}x"
                                 f"{image.shape[0]}")
        return cls([image for _, image in named])

    def __len__(self) -> int:
        return len(self._frames)

    def describe(self, data: str) -> str:
        """What the photos are, for the printout."""
        return (f"{len(self)} CelebA frames of {data}, each placed in a {CANVAS}x{CANVAS} "
                f"canvas (turned up to +-{MAX_TURN:g} degrees, shown at "
                f"{FRAME_SCALES[0]:g}-{FRAME_SCALES[1]:g}x, the rest reflected)")

    def photos(self, indices) -> np.ndarray:
        """uint8 [n, CANVAS, CANVAS, 3]: the canvases at ``indices``."""
        return np.stack([scenes.reflected_canvas(self._frames[index], self.placements[index],
                                                 CANVAS, CANVAS) for index in indices])

    def masks(self, indices, hole: str) -> np.ndarray:
        """float32 [n, CANVAS, CANVAS], 1 = known: each canvas's own hole."""
        return np.stack([canvas_mask(self.placements[index], hole) for index in indices])

    def realism_images(self, images: np.ndarray, indices) -> np.ndarray:
        """uint8 [n, REALISM_SIZE, REALISM_SIZE, 3]: the face's square cut from ``images``
        (canvases [n, CANVAS, CANVAS, 3] of the photos at ``indices``) by their placements."""
        return np.stack([realism_crop(image, self.placements[index])
                         for image, index in zip(images, indices)])


def canvas_placement(index: int) -> np.ndarray:
    """The transform [3, 3] from CelebA's frame to the canvas of photo ``index`` (index
    coordinates), drawn from ``CANVAS_SEED`` and ``index`` only: a turn within +-``MAX_TURN``
    degrees, a scale within ``FRAME_SCALES``, and a shift that keeps ``FACE_SQUARE`` whole in
    the canvas."""
    rng = np.random.default_rng((CANVAS_SEED, index))
    angle, scale = rng.uniform(-MAX_TURN, MAX_TURN), rng.uniform(*FRAME_SCALES)
    left, top, side = FACE_SQUARE
    turn = np.deg2rad(angle)
    # Half the side of the turned square's bounding box: how far inside its centre must stay.
    reach = side * scale * (abs(np.cos(turn)) + abs(np.sin(turn))) / 2
    centre = rng.uniform(reach - 0.5, CANVAS - 0.5 - reach, 2)
    return scenes.similarity_transform(angle, scale, (left + (side - 1) / 2, top + (side - 1) / 2),
                                       centre)


def canvas_mask(frame_to_canvas: np.ndarray, hole: str) -> np.ndarray:
    """The hole ``CANVAS_HOLES[hole]`` of the frame carried into the canvas by
    ``frame_to_canvas`` [3, 3]: float32 [CANVAS, CANVAS], 1 = known, 0 where the nearest frame
    pixel is in the hole."""
    top, bottom, left, right = CANVAS_HOLES[hole]
    missing = np.zeros(crops.CELEBA_SIZE + (1,), np.float32)
    missing[top:bottom, left:right] = 1.0
    warped = align.resample(missing, np.linalg.inv(frame_to_canvas), CANVAS, CANVAS, "CONSTANT",
                            interpolation="NEAREST")
    return (warped.numpy()[..., 0] < 0.5).astype(np.float32)


def realism_crop(canvas: np.ndarray, frame_to_canvas: np.ndarray) -> np.ndarray:
    """The face's square (``FACE_SQUARE`` of the frame) cut from a canvas uint8
    [CANVAS, CANVAS, 3] by its placement ``frame_to_canvas`` [3, 3]: uint8
    [REALISM_SIZE, REALISM_SIZE, 3], shrunk with antialiasing (``align.warp_to_crop``)."""
    frame_to_crop = align.square_alignment(*FACE_SQUARE, REALISM_SIZE).matrix
    alignment = align.Alignment(frame_to_crop @ np.linalg.inv(frame_to_canvas), REALISM_SIZE)
    return align.warp_to_crop(canvas, alignment)[0]


SCENES = {"ffhq": FfhqPhotos, "celeba_canvas": CelebaCanvases}  # --scenes


def load_scenes(kind: str, data: str, count: int):
    """The first ``count`` images of ``data`` as scenes of ``kind`` (``SCENES``): an
    ``FfhqPhotos`` or ``CelebaCanvases``.

    Raises:
        ValueError: naming --data, when its images do not fit the scenes.
    """
    named = [(name, decode.read_rgb(encoded, name))
             for name, encoded in pipeline.read_encoded(data, count)]
    return SCENES[kind].from_images(named, data)


def parts(count: int) -> list:
    """The indices of ``count`` photos, ``PHOTOS_AT_ONCE`` at a time: int arrays."""
    return [np.arange(first, min(first + PHOTOS_AT_ONCE, count))
            for first in range(0, count, PHOTOS_AT_ONCE)]


def complete_photos(method: str, photos, masks, completers, faces, detect_seconds: float):
    """Completes every photo with one method.

    Args:
        method: one of ``METHODS``.
        photos: uint8 [N, H, W, 3], the hole's pixels as the methods get them.
        masks: float32 [N, H, W], 1 = known: each photo's hole.
        completers: a function (position in ``photos``) -> ``photo.completion.CropCompleter``
            (search methods only).
        faces: each photo's ``detect.Detections`` (None for the methods without search).
        detect_seconds: the detection's time per photo, counted to the search methods.

    Returns:
        (completed uint8 [N, H, W, 3], seconds per photo).
    """
    start = time.perf_counter()
    if method == table.REFERENCE:
        completed = photos.copy()
    elif method in classical.METHODS:
        completed = np.stack([classical.fill_photo(photo, mask, method)
                              for photo, mask in zip(photos, masks)])
    elif method == EXEMPLAR:
        completed = np.stack([_exemplar_fill(photo, mask) for photo, mask in zip(photos, masks)])
    else:
        completed = np.stack([_complete_photo(completers(index), photo, mask, found,
                                              method.endswith(FACES_ONLY))
                              for index, (photo, mask, found)
                              in enumerate(zip(photos, masks, faces))])
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


def detect_all(photo_set) -> tuple[list, float]:
    """Each photo's ``detect.Detections`` and the detection's seconds per photo."""
    faces, seconds = [], 0.0
    for indices in parts(len(photo_set)):
        photos = photo_set.photos(indices)
        start = time.perf_counter()
        faces += [detect.detect_faces(photo) for photo in photos]
        seconds += time.perf_counter() - start
    return faces, seconds / len(photo_set)


def realism_references(photo_set) -> np.ndarray:
    """The realism images uint8 [N, R, R, 3] of the real photos (``realism_images``)."""
    return np.concatenate([photo_set.realism_images(photo_set.photos(indices), indices)
                           for indices in parts(len(photo_set))])


def complete_and_score(method: str, hole: str, photo_set, completers, faces,
                       detect_seconds: float, extractor=None, real_features=None,
                       progress: "table.RowProgress | None" = None) -> dict:
    """One row: ``method`` completes every photo's ``hole``, ``PHOTOS_AT_ONCE`` photos at a
    time, scored at the photos' resolution.

    Args:
        method, detect_seconds: as for ``complete_photos``.
        hole: a hole of ``photo_set.holes``.
        photo_set: ``FfhqPhotos`` or ``CelebaCanvases``.
        completers: a function (photo index) -> ``photo.completion.CropCompleter``.
        faces: each photo's ``detect.Detections`` (None for the methods without search).
        extractor: an ``inception.FeatureExtractor`` for the realism figures, or None.
        real_features: its features [N, 2048] of the real photos' realism images.
        progress: where the row keeps its finished parts (scores, shares, realism images and
            seconds), to go on from them (None: nowhere).

    Returns:
        ``complete_quality.summarise``'s row; hole_share is the mean of the photos' shares.
    """
    reference = method == table.REFERENCE
    saved, seconds = progress.restore() if progress else ({}, 0.0)
    done = int(saved.get("parts_done", 0))
    scores = {name.removeprefix("score_"): list(values) for name, values in saved.items()
              if name.startswith("score_")}
    shares = list(saved.get("shares", []))
    realism_images = [saved["realism"]] if "realism" in saved else []
    for part, indices in enumerate(parts(len(photo_set))):
        if part < done:
            continue
        photos, masks = photo_set.photos(indices), photo_set.masks(indices, hole)
        given = photos
        if hole in GREYED and not reference:
            given = np.where(masks[..., np.newaxis] > 0.5, photos, np.uint8(128))
        first = int(indices[0])
        completed, part_seconds = complete_photos(
            method, given, masks, lambda position: completers(first + position),
            [faces[index] for index in indices], detect_seconds)
        seconds += part_seconds * len(indices)
        for key, values in table.image_scores(completed, photos,
                                              masks[..., np.newaxis]).items():
            scores.setdefault(key, []).extend(values)
        shares.extend(1 - masks.mean(axis=(1, 2), dtype=np.float64))
        if extractor is not None and not reference:
            realism_images.append(photo_set.realism_images(completed, indices))
        if progress and progress.due():
            realism = {"realism": np.concatenate(realism_images)} if realism_images else {}
            progress.save(seconds, parts_done=part + 1, shares=np.asarray(shares), **realism,
                          **{f"score_{name}": np.asarray(values)
                             for name, values in scores.items()})
    features = None
    if extractor is not None:
        features = real_features if reference else extractor(np.concatenate(realism_images))
    return table.summarise(scores, seconds / len(photo_set), float(np.mean(shares)), features,
                           real_features)


def run_setup(args, model) -> dict:
    """What this run's rows are made with: ``--output``'s "setup" ("scenes" only for scenes
    other than ffhq, so files written before --scenes still resume)."""
    setup = {"bench": "photo_quality", "model": table.path_or_name(model.source),
             "model_step": model.step, "data": table.path_or_name(args.data),
             "num_images": args.num_images, "realism": args.realism}
    if args.scenes != "ffhq":
        setup["scenes"] = args.scenes
    return setup


def check_args(args) -> None:
    """Raises ValueError naming the first flag at fault (before any work)."""
    methods, holes = args.methods.split(","), args.holes.split(",")
    for flag, chosen, choices in (("--methods", methods, METHODS),
                                  ("--holes", holes, SCENES[args.scenes].holes)):
        unknown = sorted(set(chosen) - set(choices))
        if unknown:
            raise ValueError(f"{flag}: unknown {', '.join(unknown)}; choose from "
                             f"{', '.join(choices)}")
    if args.resume and not args.output:
        raise ValueError("--resume needs --output: the file whose rows it keeps")
    if args.realism:
        table.check_realism_flags(args.inception)


def run(args) -> None:
    """The benchmark: loads, detects, completes, scores, prints, writes."""
    check_args(args)
    methods, holes = args.methods.split(","), args.holes.split(",")
    model = loading.load(args.model)
    setup = run_setup(args, model)
    results = table.read_results(args.output, setup) if args.resume else {}
    todo = [(method, hole) for hole in holes for method in methods
            if f"{method}/{hole}" not in results]
    if EXEMPLAR in {method for method, _ in todo}:
        _check_exemplar()
    photo_set = load_scenes(args.scenes, args.data, args.num_images)
    if args.realism:
        table.check_realism_count(len(photo_set))
    print(f"model {model.source}, {photo_set.describe(args.data)}")
    if args.resume:
        print(f"--resume: {len(methods) * len(holes) - len(todo)} of "
              f"{len(methods) * len(holes)} rows kept from {args.output}, {len(todo)} to run")
    faces, detect_seconds = [None] * len(photo_set), 0.0
    if any(_search_method(method) for method, _ in todo):
        faces, detect_seconds = detect_all(photo_set)
        print(f"a face found in {sum(bool(found.faces) for found in faces)} photos (a photo "
              f"without one is filled from its surroundings)")
    extractor = real_features = None
    if args.realism and todo:
        print(photo_set.realism_note)
        extractor = inception.FeatureExtractor(args.inception)
        real_features = extractor(realism_references(photo_set))
    print(table.header(args.realism))
    for hole in holes:
        for method in methods:
            key = f"{method}/{hole}"
            kept = key in results
            progress = None
            if args.output and not kept:
                progress = table.RowProgress(args.output, key, setup, args.resume)
            if not kept:
                search = _search_method(method)
                settings = (search_settings(search).for_model(model.config.latent_prior)
                            if search else None)
                results[key] = complete_and_score(
                    method, hole, photo_set,
                    lambda index: photo_lib.search_completer(model, settings, seed=index),
                    faces, detect_seconds, extractor, real_features, progress)
            print(table.format_row(hole, method, results[key], "-", kept), flush=True)
            if progress:
                table.write_results(args.output, results, setup)
                progress.discard()
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
    """The flags (of ``sys.argv`` when ``argv`` is None); --data defaults by --scenes."""
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--model", default="", help=MODEL_HELP)
    parser.add_argument("--scenes", default="ffhq", choices=list(SCENES),
                        help="ffhq: the FFHQ dev faces as they are, each hole at the same place "
                             "in every photo; celeba_canvas: each CelebA frame placed in its own "
                             f"{CANVAS}x{CANVAS} canvas (turned up to +-{MAX_TURN:g} degrees, "
                             f"shown at {FRAME_SCALES[0]:g}-{FRAME_SCALES[1]:g}x, the rest "
                             "reflected) by a transform drawn from the photo's index alone, the "
                             "hole carried with it, realism on the face's square cut back out: "
                             "the same photos and holes for every --model")
    parser.add_argument("--data", default="",
                        help="default by --scenes: ffhq128_dev.zip (ffhq), celeba_valid.zip "
                             f"(celeba_canvas), in {os.path.normpath(table.SHARED)}/data")
    parser.add_argument("--num_images", type=int, default=400)
    parser.add_argument("--methods", default="fast,telea,ns,mean,real",
                        help=f"comma-separated, of {', '.join(METHODS)}")
    parser.add_argument("--holes", default="eyes_nose",
                        help=f"comma-separated, of {', '.join(HOLES)} (ffhq); "
                             f"{', '.join(CANVAS_HOLES)} (celeba_canvas)")
    table.add_table_flags(parser)
    args = parser.parse_args(argv)
    args.data = args.data or DEFAULT_DATA[args.scenes]
    return args


def main():
    try:
        run(parse_args())
    except ValueError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
