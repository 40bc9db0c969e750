"""Figure of photo completion (``complete.py --align``) on a synthetic scene: a model's own
generated faces placed rotated and enlarged over a smooth background (no data set image is
shown), a hole in every face, and the photo completed at its own size. Rows: scene | holes |
completed.

    python tools/photo_figure.py --model=celeba64 --output=docs/celeba64_photo_completion.png
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from dcgan_tf import images as image_utils  # noqa: E402
from dcgan_tf.inpainting import masks as mask_lib  # noqa: E402
from dcgan_tf.inpainting.settings import search_settings  # noqa: E402
from dcgan_tf.models import sampling  # noqa: E402
from dcgan_tf.photo import completion as photo_lib, scenes  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402

FACE_SEED = 4_000_041  # latents never used in training, FID or the sample grids
# (centre x, centre y, angle in degrees, side in photo pixels of the face's crop) of each face,
# whatever the model's size (3.0, 2.2 and 1.5 times a 64 px crop).
PLACEMENTS = [(150, 150, -14.0, 192.0), (420, 140, 9.0, 140.8), (620, 190, 22.0, 96.0)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="celeba64")
    parser.add_argument("--method", default="default")
    parser.add_argument("--mask", default="center")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    model = loading.load(args.model)
    size = model.config.image_size
    faces = sampling.sample_images(model.generator, len(PLACEMENTS), FACE_SEED,
                                   model.config.latent_prior)
    placements = [(x, y, angle, side / size) for x, y, angle, side in PLACEMENTS]
    scene = scenes.scene(faces, placements, size=(320, 720))
    crop_mask = mask_lib.make_masks(args.mask, 1, size, seed=1)[0, ..., 0]
    settings = search_settings(args.method).for_model(model.config.latent_prior)
    result = photo_lib.complete_photo(photo_lib.search_completer(model, settings), scene,
                                      crop_mask=crop_mask)
    holes = np.where(result.mask[..., np.newaxis] > 0.5, scene, 128).astype(np.uint8)
    gap = np.zeros((4, scene.shape[1], 3), np.uint8)
    image_utils.save_png(args.output, np.concatenate([scene, gap, holes, gap, result.completed]))
    print(f"Wrote {args.output}: {len(result.faces)} of {len(PLACEMENTS)} faces completed "
          f"(--mask={args.mask}, --method={args.method})")


if __name__ == "__main__":
    main()
