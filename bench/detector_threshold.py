"""The face detector's operating point: missed real faces and false detections per confidence
threshold, with and without the landmark check (``dcgan_tf.photo.plausibility``), on photos from
240 to 4,000 px (issue 33: a ghost face was completed on a desk MTCNN scored 0.949).

Real faces: each of ``--num_faces`` data set images (taken in turn from the ``--faces`` sets) is
placed, at every size of ``--sizes``, in a synthetic scene (below: ``BACKGROUNDS``) by a random
similarity: rotated by up to 30 degrees, its eyes 1.5-20% of the photo's longest side apart (at
least 10 px, at most a quarter of the shorter side: a group photo to a portrait), anywhere its
face fits, fading into the scene over its outer pixels. A face counts as found at a threshold when
a detection at or above it has the true face's centre (the mean of its five landmarks in the
data set's framing, ``FRAMINGS``) inside its box and eyes 0.5-2x the true distance apart.
Every other detection in these photos is counted as false "beside a face": an upper bound, as a
data set image may show a second person.

Faceless scenes: ``--num_scenes`` photos at every size, their kinds in turn (``KINDS``): smooth
colour waves, multi-scale noise textures, random shapes (dark blobs among them), FFHQ dev images
with the face region replaced by its surroundings (OpenCV's Telea fill of an ellipse over the
face, the head's hair and the background kept), per-pixel noise, and flat colours. Every
detection in them is false, but in the FFHQ images only those centred in the replaced region
count: their backgrounds show other people (about one image in 25 has another face MTCNN
finds).

Detection is ``detect.candidates`` (MTCNN, photos longer than 2,048 px searched shrunk) once per
photo down to the lowest threshold, then counted per threshold (MTCNN keeps the same detections
above a threshold whatever its own floor). Prints, per threshold: missed faces per 100 real
faces, false detections per 100 faceless scenes and beside the real faces per 100 of their
photos, each by the confidence alone and with the landmark check; then the same per photo size
and per kind of scene at ``detect.MIN_CONFIDENCE``, and the range of each quantity the check
tests on the faces found (``plausibility.measures``). ``--output`` keeps everything, every
detection included, as JSON.

    python bench/detector_threshold.py [--num_faces=400] [--num_scenes=400] \\
        [--sizes=240,480,960,2000,4000] [--output=detector_threshold.json [--resume]]

Each size's photos come from their own random stream (the seed and the size), and ``--output``
is rewritten after every size, so ``--resume`` (with ``--output``) keeps the sizes that file
holds and runs only the rest (it refuses a file made with other settings, naming the one).

CelebA's validation split is the reported set: choose nothing on it (``--faces=celeba=...
celeba_train.zip`` to tune). CelebA and FFHQ images stay out of the repository: only figures.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from dcgan_tf import files  # noqa: E402
from dcgan_tf.data import decode, pipeline  # noqa: E402
from dcgan_tf.inpainting import classical  # noqa: E402
from dcgan_tf.photo import detect, plausibility, scenes  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
FACES = f"celeba={DATA}/celeba_valid.zip,ffhq={DATA}/ffhq128_dev.zip"
FACELESS = f"{DATA}/ffhq128_dev.zip"
SIZES = "240,480,960,2000,4000"
THRESHOLDS = "0.5,0.7,0.8,0.9,0.95,0.97,0.98,0.99,0.995"
SEED = 33_000_033
# Each data set's framing: the square (top, side) cut from its images, as fractions of their
# width, and in that square the true face's centre (the mean of the five landmarks: x, y) and
# eye distance, as fractions of its side. CelebA (178x218 aligned): from the celeba64 template
# (align.DEFAULT_TEMPLATE, measured in the central 108 px box at (35, 55)); FFHQ (FFHQ's own
# alignment): MTCNN's eyes at 37% and 62% across, 47% down, the nose 61%, the mouth 72%.
FRAMINGS = {"celeba": {"top": 40 / 178, "centre": (0.499, 0.522), "eyes": 0.2155},
            "ffhq": {"top": 0.0, "centre": (0.5, 0.60), "eyes": 0.25}}
KINDS = ("waves", "texture", "shapes", "faceless", "noise", "flat")
BACKGROUNDS = tuple(kind for kind in KINDS if kind != "faceless")  # of the real faces
# The FFHQ face region replaced in "faceless" scenes: an ellipse (centre x, y, half-width,
# half-height) in fractions of the image, brows to chin and cheek to cheek.
FFHQ_FACE = (0.5, 0.6, 0.30, 0.37)
ASPECTS = (4 / 3, 3 / 4, 1.0)  # width / height of the photos, in turn
# FFHQ images made faceless: the first ones after those --faces may take from the same set.
FACELESS_POOL = 200


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", default=FACES,
                        help="framing=zip,... : data sets of real faces (framings: "
                             f"{', '.join(FRAMINGS)})")
    parser.add_argument("--faceless", default=FACELESS,
                        help="FFHQ images (zip or folder) whose face region is replaced")
    parser.add_argument("--num_faces", type=int, default=400,
                        help="real faces, each placed at every size")
    parser.add_argument("--num_scenes", type=int, default=400,
                        help="faceless scenes, each made at every size")
    parser.add_argument("--sizes", default=SIZES, help="longest photo sides, comma-separated")
    parser.add_argument("--thresholds", default=THRESHOLDS, help="confidences, comma-separated")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--output", default="", help="JSON of every figure and detection")
    parser.add_argument("--resume", action="store_true",
                        help="keep the sizes --output already holds; run the rest")
    args = parser.parse_args()
    try:
        args.sources = [_source(item) for item in args.faces.split(",")]
        args.sizes = [int(size) for size in args.sizes.split(",")]
        args.thresholds = sorted(float(value) for value in args.thresholds.split(","))
    except ValueError as error:
        parser.error(str(error))
    if min(args.sizes) < 64:
        parser.error(f"--sizes: photos of at least 64 px, got {min(args.sizes)}")
    if not all(0 < value <= 1 for value in args.thresholds):
        parser.error(f"--thresholds: confidences in (0, 1], got {args.thresholds}")
    if args.num_faces < 0 or args.num_scenes < 0 or args.num_faces + args.num_scenes == 0:
        parser.error("--num_faces and --num_scenes: counts >= 0, not both 0")
    if args.resume and not args.output:
        parser.error("--resume needs --output: the file whose sizes it keeps")
    if args.output:
        files.check_writable_dir(os.path.dirname(os.path.abspath(args.output)), "output")
    return args


def settings(args) -> dict:
    """What the records depend on: every flag but --output and --resume."""
    return {key: value for key, value in vars(args).items()
            if key not in ("sources", "output", "resume")}


def resumed_records(args) -> dict:
    """--resume: the records of the sizes ``args.output`` holds (none when it does not exist).

    Raises:
        SystemExit: naming --resume, when the file is unreadable or made with other settings.
    """
    empty = {"faces": [], "scenes": []}
    if not (args.resume and os.path.exists(args.output)):
        return empty
    try:
        with open(args.output) as file:
            report = json.load(file)
        made = report["settings"]
        records = report["records"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"--resume: cannot read {args.output}: {error!r}") from error
    for key, wanted in settings(args).items():
        if key != "sizes" and made.get(key) != wanted:
            raise SystemExit(f"--resume: {args.output} was made with --{key}={made.get(key)}, "
                             f"not {wanted}")
    kept = set(report.get("sizes_done", [])) & set(args.sizes)
    return {group: [photo for photo in photos if photo["size"] in kept]
            for group, photos in records.items()}


def _source(item: str) -> tuple[str, str]:
    """(framing, path) of one ``--faces`` item "framing=path"."""
    framing, _, path = item.partition("=")
    if framing not in FRAMINGS or not path:
        raise ValueError(f"--faces: {item!r} is not framing=path with a framing of "
                         f"{', '.join(FRAMINGS)}")
    if not os.path.exists(path):
        raise ValueError(f"--faces: {path} does not exist")
    return framing, path


def photo_shape(size: int, number: int) -> tuple[int, int]:
    """(height, width) of photo ``number`` with longest side ``size``."""
    aspect = ASPECTS[number % len(ASPECTS)]
    if aspect >= 1:
        return round(size / aspect), size
    return size, round(size * aspect)


def _resized(pixels: np.ndarray, shape) -> np.ndarray:
    """uint8 ``pixels`` [h, w, 3] (or float in [0, 255]) resized to ``shape`` (H, W)."""
    image = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))
    return np.asarray(image.resize((shape[1], shape[0]), Image.BICUBIC))


def _small_shape(shape, side: int = 256) -> tuple[int, int]:
    """``shape`` scaled so its longest side is at most ``side``."""
    scale = min(1.0, side / max(shape))
    return max(2, round(shape[0] * scale)), max(2, round(shape[1] * scale))


def waves(rng, shape) -> np.ndarray:
    """Smooth colour waves (like ``scenes.scene``'s background) of random period and hue."""
    height, width = _small_shape(shape)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [rng.uniform(60, 180) + rng.uniform(20, 70)
                * np.sin(2 * np.pi * (rng.uniform(0.5, 4) * x * np.cos(angle)
                                      + rng.uniform(0.5, 4) * y * np.sin(angle))
                         + rng.uniform(0, 2 * np.pi))
                for angle in rng.uniform(0, np.pi, 3)]
    return _resized(np.stack(channels, -1), shape)


def texture(rng, shape) -> np.ndarray:
    """Multi-scale value noise (clouds, foliage, stone) between a dark and a light colour."""
    height, width = _small_shape(shape, 512)
    field = np.zeros((height, width))
    for cells in (4, 8, 16, 32, 64, 128):
        grid = rng.uniform(0, 1, (max(2, cells * height // width), cells)) if width >= height \
            else rng.uniform(0, 1, (cells, max(2, cells * width // height)))
        field += np.asarray(Image.fromarray(grid.astype(np.float32)).resize(
            (width, height), Image.BICUBIC)) * rng.uniform(0.3, 1.0)
    field = (field - field.min()) / max(np.ptp(field), 1e-6)
    low = rng.uniform(0, 100, 3)
    high = low + rng.uniform(60, 155, 3)
    return _resized(low + field[..., np.newaxis] * (high - low), shape)


def shapes(rng, shape) -> np.ndarray:
    """Random ellipses and rectangles, dark blobs among them, over waves."""
    height, width = _small_shape(shape, 512)
    pixels = waves(rng, (height, width)).astype(np.float64)
    y, x = np.mgrid[0:height, 0:width]
    for _ in range(rng.integers(5, 40)):
        centre_x, centre_y = rng.uniform(0, width), rng.uniform(0, height)
        half_w, half_h = rng.uniform(0.01, 0.2, 2) * max(height, width)
        colour = rng.uniform(0, 60, 3) if rng.uniform() < 0.4 else rng.uniform(0, 255, 3)
        if rng.uniform() < 0.5:
            inside = ((x - centre_x) / half_w) ** 2 + ((y - centre_y) / half_h) ** 2 <= 1
        else:
            inside = (abs(x - centre_x) <= half_w) & (abs(y - centre_y) <= half_h)
        pixels[inside] = colour
    return _resized(pixels, shape)


def faceless(rng, shape, images: list) -> tuple[np.ndarray, tuple]:
    """An FFHQ image with its face region (``FFHQ_FACE``) filled from its surroundings,
    cut to the photo's aspect and resized, and that region in the photo (an ellipse: centre
    x, y, half-width, half-height in photo px)."""
    image = images[rng.integers(len(images))]
    side = image.shape[0]
    y, x = np.mgrid[0:side, 0:side] / side
    centre_x, centre_y, half_w, half_h = FFHQ_FACE
    known = ((x - centre_x) / half_w) ** 2 + ((y - centre_y) / half_h) ** 2 > 1
    filled = classical.fill_photo(image, known, "telea")
    aspect = shape[1] / shape[0]
    cut_w, cut_h = (side, round(side / aspect)) if aspect >= 1 else (round(side * aspect), side)
    top, left = (side - cut_h) // 2, (side - cut_w) // 2
    across, down = shape[1] / cut_w, shape[0] / cut_h  # photo px per image px
    region = ((centre_x * side - left) * across, (centre_y * side - top) * down,
              half_w * side * across, half_h * side * down)
    return _resized(filled[top:top + cut_h, left:left + cut_w], shape), region


def noise(rng, shape) -> np.ndarray:
    """Per-pixel Gaussian noise (sigma 10-60) around a random colour, at full resolution."""
    mean = rng.uniform(40, 215, 3)
    values = rng.normal(0, rng.uniform(10, 60), shape + (3,)).astype(np.float32) + mean
    return np.clip(values, 0, 255).astype(np.uint8)


def flat(rng, shape) -> np.ndarray:
    """One colour with a faint gradient."""
    return _resized(rng.uniform(0, 255, 3) + np.linspace(-8, 8, 16)[:, np.newaxis, np.newaxis]
                    * np.ones((16, 16, 1)), shape)


def faceless_scene(kind: str, rng, shape, ffhq: list) -> tuple[np.ndarray, tuple | None]:
    """A faceless photo uint8 [H, W, 3] of ``kind`` (one of ``KINDS``), and the region where a
    detection is false (None: anywhere; ``faceless``)."""
    if kind == "faceless":
        return faceless(rng, shape, ffhq)
    return {"waves": waves, "texture": texture, "shapes": shapes, "noise": noise,
            "flat": flat}[kind](rng, shape), None


def in_region(box, region: tuple | None) -> bool:
    """Whether the centre of ``box`` (x, y, width, height) lies in ``region`` (an ellipse:
    centre x, y, half-width, half-height; None = the whole photo)."""
    if region is None:
        return True
    centre_x, centre_y, half_w, half_h = region
    x, y = box[0] + box[2] / 2, box[1] + box[3] / 2
    return bool(((x - centre_x) / half_w) ** 2 + ((y - centre_y) / half_h) ** 2 <= 1)


def place_face(face: np.ndarray, framing: str, background: np.ndarray, rng
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """``face`` (a data set image) placed in ``background`` [H, W, 3] at random (the module's
    docstring): the photo, the true face's centre (x, y) and its eye distance in photo px."""
    frame = FRAMINGS[framing]
    width = face.shape[1]
    top = round(frame["top"] * width)
    square = face[top:top + width, :width]
    height, photo_width = background.shape[:2]
    eyes = np.exp(rng.uniform(np.log(0.015), np.log(0.2))) * max(height, photo_width)
    eyes = float(np.clip(eyes, 10.0, 0.25 * min(height, photo_width)))
    scale = eyes / (frame["eyes"] * width)  # photo px per square px
    angle = rng.uniform(-30, 30)
    reach = 0.5 * width * scale  # the face's square stays inside the photo where it can
    centre = [rng.uniform(min(reach, side / 2), max(side - reach, side / 2))
              for side in (photo_width, height)]
    theta = np.deg2rad(angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    face_centre = np.array(centre) + scale * rotation @ (
        np.array(frame["centre"]) * width - 0.5 - (width - 1) / 2)
    # Draw only in the window the face covers (a 4,000 px scene is 12 MP).
    margin = int(np.ceil(0.72 * width * scale)) + 2
    left, top_row = max(0, int(centre[0]) - margin), max(0, int(centre[1]) - margin)
    right, bottom = min(photo_width, int(centre[0]) + margin), min(height, int(centre[1]) + margin)
    placement = (centre[0] - left, centre[1] - top_row, angle, scale)
    window = scenes.scene(square[np.newaxis], [placement], (bottom - top_row, right - left),
                          background=background[top_row:bottom, left:right])
    photo = background.copy()
    photo[top_row:bottom, left:right] = window
    return photo, face_centre, eyes


def is_the_face(face, centre: np.ndarray, eyes: float) -> bool:
    """Whether a detection is the placed face (the module's docstring)."""
    x, y, width, height = face.box
    inside = x <= centre[0] <= x + width and y <= centre[1] <= y + height
    return bool(inside and 0.5 <= face.eye_distance / eyes <= 2.0)


def detections(photo: np.ndarray, floor: float) -> list[dict]:
    """Every candidate of ``photo`` down to ``floor``: confidence, box, the check's verdict
    (None = plausible) and its measures."""
    return [{"confidence": face.confidence, "box": [round(v, 1) for v in face.box],
             "reason": plausibility.implausibility(face),
             "measures": plausibility.measures(face), "face": face}
            for face in detect.candidates(photo, floor=floor)]


def run(args) -> dict:
    """Detects in every photo of the sizes not yet in ``--output`` (``--resume``), rewriting it
    after each size; returns the records of the real-face and faceless photos."""
    records = resumed_records(args)
    done = sorted({photo["size"] for photos in records.values() for photo in photos})
    if done:
        print(f"--resume: sizes {done} kept from {args.output}", flush=True)
    floor = min(args.thresholds)
    per_source = -(-args.num_faces // len(args.sources))
    sets = [[(framing, decode.read_rgb(encoded, name))
             for name, encoded in pipeline.read_encoded(path, per_source)]
            for framing, path in args.sources]
    faces = [pair for row in zip(*sets) for pair in row][:args.num_faces]  # in turn
    ffhq = [decode.read_rgb(encoded, name) for name, encoded in pipeline.read_encoded(
        args.faceless, per_source + FACELESS_POOL)][per_source:]
    if not ffhq:
        raise SystemExit(f"--faceless {args.faceless}: no images after the first {per_source}")
    start = time.perf_counter()
    for size in args.sizes:
        if size in done:
            continue
        rng = np.random.default_rng([args.seed, size])
        for number, (framing, face) in enumerate(faces):
            shape = photo_shape(size, number)
            kind = BACKGROUNDS[number % len(BACKGROUNDS)]
            background, _ = faceless_scene(kind, rng, shape, ffhq)
            photo, centre, eyes = place_face(face, framing, background, rng)
            found = detections(photo, floor)
            for item in found:
                item["matched"] = is_the_face(item.pop("face"), centre, eyes)
            records["faces"].append({"size": size, "framing": framing, "background": kind,
                                     "eye_distance": round(eyes, 1), "detections": found})
        for number in range(args.num_scenes):
            kind = KINDS[number % len(KINDS)]
            photo, region = faceless_scene(kind, rng, photo_shape(size, number), ffhq)
            found = detections(photo, floor)
            for item in found:
                item.pop("face")
                item["counted"] = in_region(item["box"], region)
            records["scenes"].append({"size": size, "kind": kind, "detections": found})
        done.append(size)
        if args.output:
            write(args.output, {"settings": settings(args), "sizes_done": sorted(done),
                                "records": records})
        print(f"size {size}: done after {time.perf_counter() - start:.0f} s", flush=True)
    return records


def write(path: str, report: dict) -> None:
    files.atomic_write_text(path, json.dumps(report, indent=1) + "\n")


def _kept(item: dict, threshold: float, checked: bool) -> bool:
    return item["confidence"] >= threshold and not (checked and item["reason"])


def rates(records: dict, threshold: float) -> dict:
    """Missed faces per 100 real faces and false detections per 100 faceless scenes at
    ``threshold``, without and with the landmark check (and false detections beside the real
    faces, per 100 of their photos)."""
    figures = {"threshold": threshold}
    for checked, suffix in ((False, ""), (True, "_checked")):
        if records["faces"]:
            missed = sum(not any(item["matched"] and _kept(item, threshold, checked)
                                 for item in photo["detections"]) for photo in records["faces"])
            beside = sum(not item["matched"] and _kept(item, threshold, checked)
                         for photo in records["faces"] for item in photo["detections"])
            figures["missed" + suffix] = 100 * missed / len(records["faces"])
            figures["false_beside_faces" + suffix] = 100 * beside / len(records["faces"])
        if records["scenes"]:
            false = sum(item["counted"] and _kept(item, threshold, checked)
                        for photo in records["scenes"] for item in photo["detections"])
            figures["false" + suffix] = 100 * false / len(records["scenes"])
    return figures


def _selected(records: dict, key: str, value) -> dict:
    """The records whose photos have ``key`` == ``value``."""
    return {group: [photo for photo in photos if photo.get(key) == value]
            for group, photos in records.items()}


def measure_ranges(records: dict) -> dict:
    """Per quantity of ``plausibility.measures``: min, 1st and 99th percentile and max over
    the faces found at ``detect.MIN_CONFIDENCE``."""
    found = [item["measures"] for photo in records["faces"] for item in photo["detections"]
             if item["matched"] and item["confidence"] >= detect.MIN_CONFIDENCE]
    if not found:
        return {}
    return {name: [float(np.min(values)), float(np.percentile(values, 1)),
                   float(np.percentile(values, 99)), float(np.max(values))]
            for name, values in ((name, [m[name] for m in found]) for name in found[0])}


def _cell(figures: dict, key: str) -> str:
    return f"{figures[key]:8.1f}" if key in figures else f"{'-':>8s}"


def print_table(title: str, rows: list[tuple[str, dict]]) -> None:
    """One row of ``rates`` per label: each figure by confidence alone and with the check."""
    print(title)
    print(f"  {'':10s} {'missed faces':>17s}   {'false detections':>17s}   "
          f"{'false beside':>17s}")
    print(f"  {'':10s} {'per 100 faces':>17s}   {'per 100 scenes':>17s}   "
          f"{'per 100 faces':>17s}")
    print(f"  {'':10s} " + "   ".join([f"{'conf.':>8s} {'+check':>8s}"] * 3))
    for label, figures in rows:
        print(f"  {label:10s} " + "   ".join(
            f"{_cell(figures, key)} {_cell(figures, key + '_checked')}"
            for key in ("missed", "false", "false_beside_faces")))


def main():
    args = parse_args()
    records = run(args)
    table = [rates(records, threshold) for threshold in args.thresholds]
    by_size = {size: rates(_selected(records, "size", size), detect.MIN_CONFIDENCE)
               for size in args.sizes}
    by_kind = {kind: rates(_selected(records, "kind", kind), detect.MIN_CONFIDENCE)
               for kind in KINDS}
    ranges = measure_ranges(records)
    print(f"{len(records['faces'])} photos with a real face ({args.faces}), "
          f"{len(records['scenes'])} faceless scenes, sizes {args.sizes}")
    print_table("Per threshold (conf. = confidence only; +check = and the landmark check):",
                [(f"{row['threshold']:g}", row) for row in table])
    print_table(f"Per photo size at the default threshold {detect.MIN_CONFIDENCE:g}:",
                [(f"{size} px", figures) for size, figures in by_size.items()])
    print_table(f"Faceless scenes per kind at {detect.MIN_CONFIDENCE:g}:",
                [(kind, figures) for kind, figures in by_kind.items()])
    print(f"The check's quantities on the faces found at {detect.MIN_CONFIDENCE:g} "
          f"(min, 1st percentile, 99th percentile, max):")
    for name, values in ranges.items():
        print(f"  {name:13s} " + " ".join(f"{value:8.3f}" for value in values))
    if args.output:
        write(args.output, {"settings": settings(args), "sizes_done": args.sizes,
                            "table": table, "by_size": by_size, "by_kind": by_kind,
                            "measure_ranges": ranges, "records": records})
        print(f"Written to {args.output}")


if __name__ == "__main__":
    main()
