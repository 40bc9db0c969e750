"""Figure of a model's completions on faces it generated itself (so no data set image is shown):
one row per face: G(z), then for each mask kind the masked face and each method's completion.

    python tools/completion_figure.py --model=celeba64 --output=docs/celeba64_completions.png
    python tools/completion_figure.py --model=celeba64 --faces=4 --methods=fast,tune \\
        --masks=center,left --face_seed=4000039 --output=docs/celeba64_tune.png
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

# Latents never used in training, FID or the sample grids (each figure its own: --face_seed).
FACE_SEED = 4_000_037


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="celeba64")
    parser.add_argument("--faces", type=int, default=6)
    parser.add_argument("--methods", default="default", help="comma-separated --method presets")
    parser.add_argument("--masks", default="center,left,thick")
    parser.add_argument("--face_seed", type=int, default=FACE_SEED,
                        help="seed of the faces' latents")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    model = loading.load(args.model)
    config = model.config
    faces = sampling.sample_images(model.generator, args.faces, args.face_seed,
                                   config.latent_prior)
    targets = image_utils.to_float(faces)
    methods = args.methods.split(",")
    columns = [faces]
    for kind in args.masks.split(","):
        masks = mask_lib.make_masks(kind, args.faces, config.image_size, seed=1)
        columns.append(image_utils.to_uint8(targets * masks))
        for method in methods:
            settings = search_settings(method).for_model(config.latent_prior)
            result = search.complete(model.generator, model.discriminator, targets, masks,
                                     settings, seed=0, encoder=model.encoder)
            columns.append(image_utils.to_uint8(result.completed))
    rows = np.stack(columns, axis=1)  # [faces, 1 + masks * (1 + methods), S, S, 3]
    grid = image_utils.make_grid(rows.reshape((-1,) + rows.shape[2:]), columns=rows.shape[1])
    image_utils.save_png(args.output, grid)
    print(f"Wrote {args.output}: {args.faces} faces x (G(z), then for {args.masks}: masked | "
          f"{' | '.join(methods)})")


if __name__ == "__main__":
    main()
