"""Latency of one completion call: the exported SavedModel's ``complete`` signature versus the
in-process library (``search.complete``), same settings, in one run.

    python bench/serving_latency.py --model=runs/00001-celeba64 [--batch_sizes=1,16] [--repeats=3]

Exports the model to a temporary folder, loads it with ``tf.saved_model.load`` (the path TF
Serving's loader takes) and times each call after one warm-up call per batch size.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

from dcgan_tf import images as image_utils  # noqa: E402
from dcgan_tf.data import synthetic  # noqa: E402
from dcgan_tf.inpainting import masks as mask_lib, search  # noqa: E402
from dcgan_tf.inpainting.settings import SearchSettings  # noqa: E402
from dcgan_tf.serving import export, loading  # noqa: E402
from dcgan_tf.serving.specs import MODEL_HELP  # noqa: E402


def seconds_per_call(call, repeats: int) -> float:
    call()  # warm-up: tracing and graph optimisation
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help=MODEL_HELP)
    parser.add_argument("--batch_sizes", default="1,16")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    model = loading.load(args.model)
    settings = SearchSettings().for_model(model.config.latent_prior)
    size = model.config.image_size
    with tempfile.TemporaryDirectory() as base:
        served = tf.saved_model.load(export.export(args.model, export_base=base,
                                                   settings=settings)).signatures["complete"]
        print(f"model {model.source}, {size}x{size}, {settings.steps} steps, "
              f"{settings.restarts} start(s), {settings.blend} blending")
        print(f"{'batch':>5s} {'SavedModel s':>12s} {'in-process s':>12s} {'ratio':>6s}")
        for batch in (int(value) for value in args.batch_sizes.split(",")):
            faces = synthetic.faces(batch, seed=7, image_size=size)
            masks = mask_lib.make_masks("center", batch, size)
            exported = seconds_per_call(lambda: served(images=tf.constant(faces),
                                                       masks=tf.constant(masks)), args.repeats)
            local = seconds_per_call(lambda: search.complete(
                model.generator, model.discriminator, image_utils.to_float(faces), masks,
                settings, seed=0), args.repeats)
            print(f"{batch:5d} {exported:12.2f} {local:12.2f} {exported / local:6.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
