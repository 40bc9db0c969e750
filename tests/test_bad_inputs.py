"""Bad inputs as a user meets them, through the real command lines: each row of the table gives a
bad image, archive, mask, flag or output folder and the exact behaviour (exit status and the
message that names the culprit, or the file skipped and counted)."""

import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import REPO_ROOT

TINY_TRAIN = ["--image_size=32", "--latent_dim=8", "--g_filters=4", "--d_filters=4",
              "--batch_size=8", "--steps_per_epoch=1", "--epochs=1", "--num_samples=4",
              "--strategy=default"]


def _face(seed: int, size: int = 40) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Every bad (and a few good) input file, by name -> path."""
    root = tmp_path_factory.mktemp("bad")
    paths = {}

    def put(name, content):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Image.Image):
            content.save(path)
        else:
            path.write_bytes(content)
        paths[name] = str(path)

    for index in range(3):
        put(f"photos/good-{index}.png", _face(index))
    put("photos/broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    put("photos/empty.png", b"")
    put("photos/tiny.png", _face(9, size=5))
    put("photos/bomb.png", _png_claiming(30_000, 30_000))
    whole = (root / "photos" / "good-0.png").read_bytes()
    put("photos/truncated.png", whole[:len(whole) // 3])
    put("only_bad/a.png", b"garbage")
    put("only_bad/b.jpg", b"")
    # A data folder of 100 good faces and one corrupt file (1% or less: skipped and counted).
    for index in range(100):
        put(f"mostly_good/{index:03d}.png", _face(100 + index, size=32))
    put("mostly_good/zz-corrupt.png", b"not a png")
    # A data folder with 2 of 10 unreadable (more than 1%: the run stops).
    for index in range(8):
        put(f"mostly_bad/{index}.png", _face(300 + index, size=32))
    put("mostly_bad/x.png", b"x")
    put("mostly_bad/y.png", b"y")
    put("notes.txt", b"just text\n")
    put("corrupt.zip", b"PK\x03\x04 this is not a zip")
    put("corrupt.tfrecords", b"\x00" * 40)
    traversal = root / "traversal.zip"
    with zipfile.ZipFile(traversal, "w") as archive:
        buffer = (root / "photos" / "good-0.png").read_bytes()
        archive.writestr("../escape.png", buffer)
        archive.writestr("/absolute.png", buffer)
    paths["traversal.zip"] = str(traversal)
    # Masks.
    put("masks/corrupt.png", b"not an image")
    put("masks/white.png", Image.new("L", (32, 32), 255))
    put("masks/wrong_size.png", Image.new("L", (100, 70), 0))
    put("masks/three_channels.png", Image.new("RGB", (32, 32), (200, 200, 200)))
    put("mask_dir/good-0.png", Image.new("L", (32, 32), 0))
    put("blocker", b"a file where a folder is expected")
    for folder in ("photos", "only_bad", "mostly_good", "mostly_bad", "mask_dir"):
        paths[folder] = str(root / folder)
    paths["shared"] = str(root / "shared_output")
    return paths


_RESULTS = {}


def _run(script, *arguments):
    """Runs a command line once; rows that share a command line share its result."""
    key = (script, arguments)
    if key not in _RESULTS:
        environment = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
        _RESULTS[key] = subprocess.run(
            [sys.executable, os.path.join(REPO_ROOT, script), *arguments], capture_output=True,
            text=True, timeout=300, env=environment)
    return _RESULTS[key]


# (case, script, arguments, exit status, text the output must contain). Arguments may use
# {name} for a file or folder of the fixture, {run} for the tiny trained run, {tmp} for a fresh
# folder and {shared} for an output folder that rows with the same command line share.
PHOTOS = ["--model={run}", "--images={photos}", "--steps=1", "--output_dir={shared}"]
CASES = [
    # Flags and configuration.
    ("train batch_size 0", "train.py", ["--batch_size=0"], 1, "--batch_size must be >= 1"),
    ("train image size", "train.py", ["--image_size=48"], 1, "--image_size must be one of"),
    ("train learning rate", "train.py", ["--learning_rate=3"], 1,
     "--learning_rate must be in (0, 1)"),
    ("train g_ema_kimg", "train.py", ["--g_ema_kimg=-1"], 1, "--g_ema_kimg must be >= 0"),
    ("train augment", "train.py", ["--augment=flip"], 1, "--augment"),
    ("train d_learning_rate", "train.py", ["--d_learning_rate=2"], 1,
     "--d_learning_rate must be in [0, 1)"),
    ("train fid without weights", "train.py", ["--fid_every=5"], 1,
     "--fid_every needs --fid_inception"),
    ("train devices with default", "train.py", ["--devices=/cpu:0", "--runs_dir={tmp}"], 1,
     "--devices only applies to --strategy=one_device or mirrored"),
    ("train multi_worker without TF_CONFIG", "train.py",
     ["--strategy=multi_worker", "--run_dir={tmp}/run"], 1,
     "needs the TF_CONFIG environment variable"),
    ("train resume nothing", "train.py", ["--resume", "--runs_dir={tmp}"], 1,
     "--resume: no runs to resume"),
    ("train other architecture", "train.py", ["--run_dir={run}", "--g_filters=8", "--epochs=2"],
     1, "with a different architecture or held-out set: --g_filters 4 -> 8"),
    ("train encoder without a run", "train.py", ["--encoder"], 1,
     "--encoder trains against a trained run: give --run_dir or --resume"),
    ("train encoder without a GAN checkpoint", "train.py", ["--encoder", "--run_dir={tmp}"], 1,
     "has no GAN checkpoint to train an encoder against"),
    ("complete mask_scale", "complete.py", ["--mask_scale=2"], 1, "--mask_scale"),
    ("complete patience", "complete.py", ["--patience=-1"], 1, "--patience must be in [0, "),
    ("complete steps 0", "complete.py", ["--steps=0"], 1, "--steps must be"),
    ("complete preset flag", "complete.py", ["--method=fast", "--steps=40", "--patience=2"], 1,
     "--method=fast sets --steps, --patience itself; leave them out"),
    ("complete tune preset flag", "complete.py", ["--method=tune", "--tune_steps=5"], 1,
     "--method=tune sets --tune_steps itself; leave it out"),
    ("complete tune blocks", "complete.py",
     ["--model={run}", "--steps=1", "--tune_steps=1", "--tune_blocks=up0,nose",
      "--output_dir={tmp}"], 1, "--tune_blocks: the generator has no block nose"),
    ("complete server url", "complete.py", ["--server=ftp://host/x"], 1, "--server must be"),
    ("complete unknown model", "complete.py", ["--model=nope", "--output_dir={tmp}"], 1,
     "packaged: celeba128, celeba64); got nope"),
    ("export model name", "export.py", ["--model_name=a/b", "--model={run}"], 1,
     "--model_name must be letters"),
    ("export version", "export.py", ["--version=-1", "--model={run}",
                                     "--export_base={tmp}"], 1, "--version must be >= 0, got -1"),
    # Training data: archives, folders, TFRecords.
    ("data missing", "train.py", ["--data=/no/such/place", "--runs_dir={tmp}"], 1,
     "--data path does not exist: /no/such/place"),
    ("data not images", "train.py", ["--data={notes.txt}", "--runs_dir={tmp}"], 1,
     "notes.txt is none of these"),
    ("data corrupt zip", "train.py", ["--data={corrupt.zip}", "--runs_dir={tmp}"], 1,
     "corrupt.zip is not a readable zip archive"),
    ("data zip with .. and absolute paths", "train.py",
     ["--data={traversal.zip}", "--runs_dir={tmp}"], 1, "holds no images"),
    ("data corrupt tfrecords", "train.py", ["--data={corrupt.tfrecords}", "--runs_dir={tmp}"],
     1, "corrupt.tfrecords is damaged or not in FFHQ's format"),
    ("data over 1% unreadable", "train.py", ["--data={mostly_bad}", "--runs_dir={tmp}"],
     1, "more than 1% of the files are unreadable"),
    ("data 1 in 101 unreadable", "train.py",
     ["--data={mostly_good}", "--runs_dir={tmp}", *TINY_TRAIN], 0,
     "1 of 101 files in"),
    # Images to complete.
    ("images none match", "complete.py", ["--model={run}", "--images={tmp}/*.png"], 1,
     "matches no image file"),
    ("images all unreadable", "complete.py",
     ["--model={run}", "--images={only_bad}", "--output_dir={tmp}"], 1,
     "none of the images could be read"),
    ("image corrupt among good", "complete.py",
     PHOTOS, 0,
     "broken.jpg: not a readable image"),
    ("image zero bytes", "complete.py",
     PHOTOS, 0,
     "empty.png: not a readable image"),
    ("image truncated", "complete.py",
     PHOTOS, 0,
     "truncated.png: not a readable image"),
    ("image too small", "complete.py",
     PHOTOS, 0,
     "tiny.png: 5x5 is too small"),
    ("image decompression bomb", "complete.py",
     PHOTOS, 0,
     "bomb.png: refused as a decompression bomb"),
    # Masks.
    ("mask file corrupt", "complete.py",
     ["--model={run}", "--mask_file={masks/corrupt.png}", "--output_dir={tmp}"], 1,
     "corrupt.png: not a readable image"),
    ("mask dir without the image's mask", "complete.py",
     ["--model={run}", "--images={photos/good-1.png}", "--mask_dir={mask_dir}",
      "--output_dir={tmp}"], 1, "has no mask for: good-1"),
    ("mask wrong size", "complete.py",
     ["--model={run}", "--num_images=1", "--steps=1", "--mask_file={masks/wrong_size.png}",
      "--output_dir={tmp}"], 0, "is 100x70: cropped (--crop=auto) and resized to 32x32"),
    ("mask all known", "complete.py",
     ["--model={run}", "--num_images=1", "--steps=1", "--mask_file={masks/white.png}",
      "--output_dir={tmp}"], 0, "marks every pixel as known, so there is nothing to complete"),
    ("mask three channels, grey", "complete.py",
     ["--model={run}", "--num_images=1", "--steps=1", "--mask_file={masks/three_channels.png}",
      "--output_dir={tmp}"], 0, "has 1024 pixels neither black nor white"),
    # Outputs.
    ("complete output under a file", "complete.py",
     ["--model={run}", "--output_dir={blocker}/out"], 1, "/out is not writable"),
    ("train runs_dir under a file", "train.py", ["--runs_dir={blocker}/runs"], 1,
     "/runs is not writable"),
    ("export base under a file", "export.py", ["--model={run}", "--export_base={blocker}/x"], 1,
     "/x/dcgan is not writable"),
]


@pytest.mark.parametrize("case, script, arguments, status, expected", CASES,
                         ids=[case[0] for case in CASES])
def test_bad_input(case, script, arguments, status, expected, files, tiny_run, tmp_path):
    _, result = tiny_run
    values = {"run": result.run_dir, "tmp": str(tmp_path), **files}
    formatted = tuple(re.sub(r"\{([^{}]+)\}", lambda m: values[m.group(1)], argument)
                      for argument in arguments)
    run = _run(script, *formatted)
    output = run.stdout + run.stderr
    assert run.returncode == status, output[-3000:]
    assert expected in output, output[-3000:]
    if arguments is PHOTOS:  # the readable images were still completed
        with open(os.path.join(files["shared"], "metrics.json")) as handle:
            names = [os.path.basename(image["name"]) for image in json.load(handle)["images"]]
        assert names == ["good-0.png", "good-1.png", "good-2.png"]
