"""Figure of photo completions next to the classical anchors, on the photo benchmark's faces and
hole (``bench/photo_quality.py``: FFHQ dev faces, a box over both eyes and the nose): one row per
photo, original | holed | each method, every tile shown 2x by pixel repetition (no smoothing
added). The first ``--faces`` photos of the set are shown, whatever they look like.

    python tools/anchor_figure.py --model=celeba64 --methods=telea,fast,default,tune \\
        --output=docs/ffhq_anchor_completions.png
    python tools/anchor_figure.py --model=celeba64,celeba128 --methods=fast --output=side.png

With several models (comma-separated), each search method gets a column per model, in the
order given; a classical fill gets one column.

FFHQ is CC BY-NC-SA 4.0 (NVIDIA; each image under its own Flickr licence): a figure of its faces
must say so where it is shown, and nothing else made from them is committed.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "bench"))

import numpy as np  # noqa: E402

import photo_quality  # noqa: E402  (the benchmark's data, hole and per-method completion)
from dcgan_tf import images as image_utils  # noqa: E402
from dcgan_tf.data import decode, pipeline  # noqa: E402
from dcgan_tf.inpainting.settings import METHODS as SEARCH_METHODS, search_settings  # noqa: E402
from dcgan_tf.photo import completion as photo_lib, detect  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402
from dcgan_tf.serving.specs import MODEL_HELP  # noqa: E402

ZOOM = 2  # every tile shown at twice its pixels, by repetition


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help=MODEL_HELP + " Comma-separated: several.")
    parser.add_argument("--data", default=photo_quality.DEFAULT_DATA["ffhq"])
    parser.add_argument("--faces", type=int, default=6, help="the first N photos of --data")
    parser.add_argument("--methods", default="telea,fast,default",
                        help=f"comma-separated, of {', '.join(photo_quality.METHODS)}")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    methods = args.methods.split(",")
    unknown = sorted(set(methods) - set(photo_quality.METHODS))
    if unknown:
        sys.exit(f"error: --methods: unknown {', '.join(unknown)}")
    models = [loading.load(source) for source in args.model.split(",")]
    photos = np.stack([decode.read_rgb(encoded, name)
                       for name, encoded in pipeline.read_encoded(args.data, args.faces)])
    mask = photo_quality.hole_mask(*photos.shape[1:3])
    faces = [detect.detect_faces(photo) for photo in photos]
    holed = np.where(mask[..., np.newaxis] > 0.5, photos, 255).astype(np.uint8)
    columns = [photos, holed]
    labels = []
    for method in methods:
        for model in models if method in SEARCH_METHODS else models[:1]:
            settings = (search_settings(method).for_model(model.config.latent_prior)
                        if method in SEARCH_METHODS else None)
            completed, _ = photo_quality.complete_photos(
                method, photos, np.broadcast_to(mask, photos.shape[:3]),
                lambda index: photo_lib.search_completer(model, settings, seed=index), faces,
                0.0)
            columns.append(completed)
            labels.append(f"{method} ({model.source})" if method in SEARCH_METHODS
                          and len(models) > 1 else method)
    rows = np.stack(columns, axis=1)
    tiles = rows.reshape((-1,) + rows.shape[2:]).repeat(ZOOM, axis=1).repeat(ZOOM, axis=2)
    image_utils.save_png(args.output, image_utils.make_grid(tiles, columns=len(columns)))
    print(f"Wrote {args.output}: {args.faces} photos of {args.data} x (original | holed | "
          f"{' | '.join(labels)}), models {', '.join(model.source for model in models)}")


if __name__ == "__main__":
    main()
