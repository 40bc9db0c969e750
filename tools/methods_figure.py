"""Figure comparing completion methods on faces a model generated itself (so no data set image
is shown): one row per face, and for each mask masked | each method's completion | original.

    python tools/methods_figure.py --model=celeba64 --methods=fast,tune --masks=center,left \\
        --output=docs/celeba64_tune.png
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from dcgan_tf import images as image_utils  # noqa: E402
from dcgan_tf.inpainting import masks as mask_lib, search  # noqa: E402
from dcgan_tf.inpainting.settings import search_settings  # noqa: E402
from dcgan_tf.models import sampling  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402

FACE_SEED = 4_000_039  # latents never used in training, FID, the samples or other figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="celeba64")
    parser.add_argument("--faces", type=int, default=4)
    parser.add_argument("--methods", default="fast,tune")
    parser.add_argument("--masks", default="center,left")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    model = loading.load(args.model)
    config = model.config
    faces = sampling.sample_images(model.generator, args.faces, FACE_SEED, config.latent_prior)
    targets = image_utils.to_float(faces)
    methods = args.methods.split(",")
    columns = []
    for kind in args.masks.split(","):
        masks = mask_lib.make_masks(kind, args.faces, config.image_size, seed=1)
        columns.append(image_utils.to_uint8(targets * masks))
        for method in methods:
            settings = search_settings(method).for_model(config.latent_prior)
            result = search.complete(model.generator, model.discriminator, targets, masks,
                                     settings, seed=0, encoder=model.encoder)
            columns.append(image_utils.to_uint8(result.completed))
        columns.append(faces)
    rows = np.stack(columns, axis=1)  # [faces, masks * (methods + 2), S, S, 3]
    grid = image_utils.make_grid(rows.reshape((-1,) + rows.shape[2:]), columns=rows.shape[1])
    image_utils.save_png(args.output, grid)
    print(f"Wrote {args.output}: {args.faces} faces x {args.masks}, masked | "
          f"{' | '.join(methods)} | original")


if __name__ == "__main__":
    main()
