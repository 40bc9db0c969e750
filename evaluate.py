"""Measure a generator (or a set of images) against real images with FID and KID.

FID and KID are computed on the features of the FID Inception network, whose weights file is
given by path (a Keras 3 ``.weights.h5`` for ``InceptionV3(include_top=False, pooling="avg")``,
converted from the 2015 Inception graph of the original FID code). Report N with FID: it is
biased upward for small sets; KID is unbiased.

Examples:
  # The shipped CelebA model against CelebA's validation faces (2,720 real, 2,720 generated):
  python evaluate.py --model=celeba64 --real=../shared/data/celeba_valid.zip --crop=celeba \\
      --inception=../shared/models/inception_v3_fid.weights.h5
  # Completions written by complete.py against the originals they came from:
  python evaluate.py --images='out/*_completed.png' --real=faces/ --crop=none \\
      --inception=inception_v3_fid.weights.h5
"""

import logging as python_logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from absl import app, flags, logging  # noqa: E402

from dcgan_tf import checks  # noqa: E402
from dcgan_tf.data import crops  # noqa: E402
from dcgan_tf.serving import specs  # noqa: E402

FLAGS = flags.FLAGS

flags.DEFINE_string("model", "", "The model to sample (not a SavedModel): " +
                    specs.MODEL_HELP)
flags.DEFINE_string("runs_dir", "runs", "Where --model=latest looks for runs.")
flags.DEFINE_list("images", [],
                  "Instead of a model: image files, folders or globs to measure.")
flags.DEFINE_string("real", None, "The real images: a folder, zip or TFRecords.")
flags.DEFINE_enum("crop", None, crops.CROPS,
                  "Crop of the real images; default: the model's training crop (auto with "
                  "--images).")
flags.DEFINE_integer("image_size", 0,
                     "--images: side both sets are compared at; 0 = the first image's (shorter) side.")
flags.DEFINE_integer("max_real", 0, "Use at most this many real images; 0 = all.")
flags.DEFINE_integer("num_generated", 0, "Samples of the model; 0 = as many as real images.")
flags.DEFINE_string("inception", None, "Path of inception_v3_fid.weights.h5.")
flags.DEFINE_integer("batch_size", 50, "Images per Inception batch.")
flags.DEFINE_integer("kid_subsets", 100, "KID: random subsets averaged.")
flags.DEFINE_integer("kid_subset_size", 1000, "KID: images per subset (capped at the set sizes).")
flags.DEFINE_string("cache_dir", os.path.join(os.path.expanduser("~"), ".cache", "dcgan_tf"),
                    "Where real-set features are cached ('' = no cache).")
flags.DEFINE_string("output", "", "Also write the result as JSON here.")
flags.mark_flags_as_required(["real", "inception"])


def check_flags() -> None:
    """Raises ValueError naming the first flag out of range."""
    for name in ("max_real", "num_generated", "image_size"):
        checks.check_range(name, FLAGS[name].value, 0)
    for name in ("batch_size", "kid_subsets"):
        checks.check_range(name, FLAGS[name].value, 1)
    checks.check_range("kid_subset_size", FLAGS.kid_subset_size, 2)
    if FLAGS.images and FLAGS.model:
        raise ValueError("give --model or --images, not both")
    if not os.path.isfile(FLAGS.inception):
        raise ValueError(f"--inception file not found: {FLAGS.inception}")
    if FLAGS.real != "synthetic" and not os.path.exists(FLAGS.real):
        raise ValueError(f"--real path does not exist: {FLAGS.real}")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        check_flags()
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    logging.set_verbosity(logging.WARNING)
    python_logging.getLogger("dcgan_tf").setLevel(python_logging.INFO)
    from dcgan_tf.evaluation import report
    try:
        measured = report.evaluate(
            real=FLAGS.real, inception_weights=FLAGS.inception, model=FLAGS.model,
            images=FLAGS.images, runs_dir=FLAGS.runs_dir, crop=FLAGS.crop or "",
            image_size=FLAGS.image_size, max_real=FLAGS.max_real,
            num_generated=FLAGS.num_generated, batch_size=FLAGS.batch_size,
            kid_subsets=FLAGS.kid_subsets, kid_subset_size=FLAGS.kid_subset_size,
            cache_dir=FLAGS.cache_dir)
    except ValueError as error:
        logging.error("%s", error)
        sys.exit(1)
    print(f"FID {measured.fid:.2f}  KID {measured.kid:.5f} +- {measured.kid_std:.5f}  "
          f"({measured.num_fake} images of {measured.fake} vs {measured.num_real} of "
          f"{measured.real})")
    if FLAGS.output:
        report.write_report(FLAGS.output, measured)
        print(f"Written: {FLAGS.output}")


def run_main():
    """Console entry point ``dcgan-evaluate``."""
    sys.modules["__main__"].__doc__ = __doc__
    app.run(main)


if __name__ == "__main__":
    run_main()
