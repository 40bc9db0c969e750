"""Package a trained run as a named model inside dcgan_tf/pretrained/ (weights + config, and the
encoder when the run trained one; the hand-written MODEL_CARD.md there is kept).

    python tools/package_model.py --model=runs/00000-celeba64/checkpoints/ckpt-40000 \\
        --name=celeba64

The config records the model's face template (for complete.py --align and the web app): the
run's own (measured by tools/measure_template.py, or its --crop=align framing), else the
template measured for its training crop of CelebA (``photo.align.TEMPLATES``: celeba,
celeba_face); a model with neither is packaged without one, and says so.
"""

import argparse
import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dcgan_tf import pretrained  # noqa: E402
from dcgan_tf.photo import align  # noqa: E402
from dcgan_tf.serving import loading  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="run folder or checkpoint prefix")
    parser.add_argument("--name", required=True, help="packaged model name, e.g. celeba64")
    args = parser.parse_args()
    if not args.name.isidentifier():
        parser.error(f"--name must be a plain identifier, got {args.name!r}")
    model = loading.load(args.model)
    config, step = model.config, model.step
    # Paths of the training machine mean nothing to users: keep the data set's file name only.
    shipped = dataclasses.replace(config, data=os.path.basename(config.data), runs_dir="runs",
                                  fid_inception="", fid_real="",
                                  face_template=face_template(config))
    directory = os.path.join(pretrained.PACKAGE_DIR, args.name)
    encoder = model.encoder
    if encoder is not None and model.encoder_step != step:
        print(f"Leaving out the encoder: it was trained against the generator at step "
              f"{model.encoder_step}, not {step} (retrain it with train.py --encoder)")
        encoder = None
    pretrained.save(directory, shipped.to_json(), model.generator, model.discriminator, encoder)
    files = (pretrained.GENERATOR_FILE, pretrained.DISCRIMINATOR_FILE, pretrained.ENCODER_FILE)
    sizes = {file: os.path.getsize(os.path.join(directory, file)) / 1e6 for file in files
             if os.path.isfile(os.path.join(directory, file))}
    print(f"Packaged {args.model} (step {step}) as {directory}: "
          + ", ".join(f"{file} {size:.1f} MB" for file, size in sizes.items()))


def face_template(config) -> tuple:
    """The template to record: the run's own, else the one measured for its CelebA crop, else
    () (with a message saying how to measure one)."""
    if config.face_template:
        print("face_template: the run's own")
        return config.face_template
    template = align.crop_template(config.crop, config.align_framing)
    if template:
        print(f"face_template: the one measured for --crop={config.crop} (align.TEMPLATES)")
        return template
    print(f"No face_template: photos cannot be completed with this model (complete.py --align, "
          f"the web app) until it is measured with tools/measure_template.py on its "
          f"--crop={config.crop} training images")
    return ()


if __name__ == "__main__":
    main()
