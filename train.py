"""Train a DCGAN on faces and write a run folder (checkpoints, TensorBoard logs, sample grids).

Examples:
  # Embedded procedural faces, defaults (about 10 minutes on 2 CPU cores):
  python train.py
  # CelebA's aligned faces straight from the zip, central 108x108 crop, 64x64:
  python train.py --data=../shared/data/celeba_train.zip --crop=celeba --epochs=2
  # The whole faces (144x144 from row 50, chin and hairline) at 128x128:
  python train.py --data=../shared/data/celeba_train.zip --crop=celeba_face --image_size=128
  # FFHQ thumbnails (nested 00000/ folders), first 30,000 images, wider networks:
  python train.py --data=ffhq/thumbnails128x128 --max_images=30000 --g_filters=64 --d_filters=64
  # Continue the newest run (optionally with more epochs):
  python train.py --resume --epochs=10
  # Then train an encoder for fast completion (complete.py --method=fast) against that run:
  python train.py --encoder --resume --encoder_steps=3000
  # Check the configuration without training:
  python train.py --data=faces.zip --dry_run
Watch it with the printed `tensorboard --logdir ...` command. Ctrl-C saves a checkpoint and stops.
"""

import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # keep TensorFlow's start-up chatter quiet

import logging as python_logging  # noqa: E402

from absl import app, flags, logging  # noqa: E402

from dcgan_tf.data import crops  # noqa: E402
from dcgan_tf.models import config as train_config, runs  # noqa: E402

_DEFAULTS = train_config.TrainConfig()
FLAGS = flags.FLAGS

flags.DEFINE_string("data", _DEFAULTS.data,
                    "'synthetic' (embedded procedural faces), a folder of images (searched "
                    "recursively), a zip archive, or FFHQ TFRecords (file or folder).")
flags.DEFINE_enum("crop", _DEFAULTS.crop, crops.TRAIN_CROPS,
                  "auto (celeba for CelebA's 178x218, else center) | celeba (central 108x108 "
                  "of 178x218) | celeba_face (144x144 of 178x218 from row 50: the whole face, "
                  "for 128 px) | ffhq (whole frame) | "
                  "center (largest central square) | none | align (each photo's face, detected "
                  "and aligned to the framing of --align_framing; the run keeps its template "
                  "for complete.py --align).")
flags.DEFINE_enum("align_framing", _DEFAULTS.align_framing, crops.ALIGN_FRAMINGS,
                  "With --crop=align: frame each face as this CelebA crop frames CelebA's "
                  "faces: celeba (celeba64's framing, eyes to mouth, the chin cut off) or "
                  "celeba_face (the whole face with chin and hairline, for 128 px models).")
flags.DEFINE_integer("image_size", _DEFAULTS.image_size, "Image side: 32, 64 or 128.")
flags.DEFINE_integer("max_images", _DEFAULTS.max_images,
                     "Use at most this many images (first in file order); 0 = all.")
flags.DEFINE_integer("synthetic_images", _DEFAULTS.synthetic_images,
                     "Number of synthetic faces when --data=synthetic and --max_images=0.")
flags.DEFINE_bool("flip", _DEFAULTS.flip, "Random horizontal flips.")
flags.DEFINE_integer("batch_size", _DEFAULTS.batch_size, "Global batch size (all replicas).")
flags.DEFINE_integer("epochs", _DEFAULTS.epochs, "Epochs to train (in total, across resumes).")
flags.DEFINE_integer("steps_per_epoch", _DEFAULTS.steps_per_epoch,
                     "Steps per epoch; 0 = one pass over the data.")
flags.DEFINE_integer("latent_dim", _DEFAULTS.latent_dim, "Size of the latent vector z.")
flags.DEFINE_enum("latent_prior", _DEFAULTS.latent_prior, train_config.LATENT_PRIORS,
                  "Distribution of z: normal N(0, 1) or uniform U(-1, 1).")
flags.DEFINE_integer("g_filters", _DEFAULTS.g_filters, "Width of the generator's last layer.")
flags.DEFINE_integer("d_filters", _DEFAULTS.d_filters,
                     "Width of the discriminator's first layer.")
flags.DEFINE_integer("kernel_size", _DEFAULTS.kernel_size, "Convolution kernel side (4 or 5).")
flags.DEFINE_enum("g_loss", _DEFAULTS.g_loss, train_config.G_LOSSES,
                  "Generator loss: non_saturating -log D(G(z)), minimax log(1 - D(G(z))) or "
                  "hinge -D(G(z)) (on logits).")
flags.DEFINE_enum("d_loss", _DEFAULTS.d_loss, train_config.D_LOSSES,
                  "Discriminator loss: minimax -[log D(x) + log(1 - D(G(z)))] or hinge "
                  "max(0, 1 - D(x)) + max(0, 1 + D(G(z))) (on logits).")
flags.DEFINE_enum("d_norm", _DEFAULTS.d_norm, train_config.D_NORMS,
                  "Discriminator normalisation: batch (BatchNorm), spectral (Keras' "
                  "SpectralNormalization of every layer) or none. Fixed for a run.")
flags.DEFINE_string("augment", _DEFAULTS.augment,
                    "DiffAugment of every image D sees, real and generated, inside the train "
                    "step: a comma list of translation, cutout, color; empty = none.")
flags.DEFINE_integer("g_steps", _DEFAULTS.g_steps, "Generator updates per discriminator update.")
flags.DEFINE_float("learning_rate", _DEFAULTS.learning_rate,
                   "Adam learning rate of both nets (unless set apart by the next two).")
flags.DEFINE_float("g_learning_rate", _DEFAULTS.g_learning_rate,
                   "Generator's learning rate (two timescales, TTUR); 0 = --learning_rate.")
flags.DEFINE_float("d_learning_rate", _DEFAULTS.d_learning_rate,
                   "Discriminator's learning rate (TTUR); 0 = --learning_rate.")
flags.DEFINE_float("beta1", _DEFAULTS.beta1, "Adam beta_1.")
flags.DEFINE_float("g_ema_kimg", _DEFAULTS.g_ema_kimg,
                   "Keep an average of G's weights with this half-life in thousands of images "
                   "(StyleGAN uses 10) and sample, evaluate, complete and package with it, "
                   "with BatchNorm statistics measured for it; 0 = off. Fixed for a run.")
flags.DEFINE_float("g_ema_rampup", _DEFAULTS.g_ema_rampup,
                   "The average's half-life is at most this share of the images seen so far "
                   "(0.05: early averages forget the random start fast); 0 = no ramp-up.")
flags.DEFINE_enum("mixed_precision", _DEFAULTS.mixed_precision, train_config.PRECISIONS,
                  "Compute in float16 (loss-scaled) or bfloat16; variables, outputs and "
                  "checkpoints stay float32. For GPUs (float16), TPUs and CPUs with AVX512_BF16 "
                  "(bfloat16). float16 is fixed for a run; off and bfloat16 may follow each "
                  "other when resuming.")
flags.DEFINE_bool("jit_compile", _DEFAULTS.jit_compile,
                  "Compile the train step with XLA (on GPUs; measured 6x slower on CPU).")
flags.DEFINE_integer("preview_every", _DEFAULTS.preview_every,
                     "Complete held-out faces (several masks, a short search) every N steps "
                     "and log the grid and preview_hole_psnr to TensorBoard; 0 = off.")
flags.DEFINE_integer("held_out_faces", _DEFAULTS.held_out_faces,
                     "Faces the run never trains on, completed by the previews: the data set's "
                     "first N images (synthetic data: another face stream). Fixed for a run.")
flags.DEFINE_enum("strategy", _DEFAULTS.strategy, train_config.STRATEGIES,
                  "tf.distribute strategy (multi_worker reads TF_CONFIG).")
flags.DEFINE_list("devices", list(_DEFAULTS.devices),
                  "Devices for one_device/mirrored, e.g. /gpu:0,/gpu:1; empty = automatic.")
flags.DEFINE_bool("sync_batchnorm", _DEFAULTS.sync_batchnorm,
                  "Share BatchNorm statistics across replicas (the global batch's statistics).")
flags.DEFINE_string("runs_dir", _DEFAULTS.runs_dir, "Folder holding the numbered run folders.")
flags.DEFINE_string("run_name", _DEFAULTS.run_name,
                    "Name part of a new run folder; default <data>-<image_size>.")
flags.DEFINE_string("run_dir", "",
                    "Train in exactly this folder; an existing run there is resumed.")
flags.DEFINE_bool("resume", False,
                  "Continue the newest run in --runs_dir (of --run_name, if given).")
flags.DEFINE_bool("dry_run", False, "Validate and print the configuration, then exit.")
flags.DEFINE_integer("seed", _DEFAULTS.seed, "Seed of weights, noise, shuffling and samples.")
flags.DEFINE_integer("checkpoint_every", _DEFAULTS.checkpoint_every, "Checkpoint every N steps.")
flags.DEFINE_integer("keep_checkpoints", _DEFAULTS.keep_checkpoints, "Checkpoints to keep.")
flags.DEFINE_integer("sample_every", _DEFAULTS.sample_every,
                     "Write a sample grid (PNG + TensorBoard) every N steps.")
flags.DEFINE_integer("log_every", _DEFAULTS.log_every,
                     "Write TensorBoard scalars every N steps (and at the last).")
flags.DEFINE_integer("num_samples", _DEFAULTS.num_samples, "Images in each sample grid.")
flags.DEFINE_integer("fid_every", _DEFAULTS.fid_every,
                     "> 0: measure FID every N steps (needs --fid_inception) and log it.")
flags.DEFINE_string("fid_inception", _DEFAULTS.fid_inception,
                    "Path of inception_v3_fid.weights.h5 for --fid_every.")
flags.DEFINE_string("fid_real", _DEFAULTS.fid_real,
                    "Real images FID compares with (folder, zip, TFRecords; cropped with --crop); "
                    "default: the training images.")
flags.DEFINE_integer("fid_samples", _DEFAULTS.fid_samples,
                     "Generated (and at most this many real) images per FID measurement.")
flags.DEFINE_bool("encoder", False,
                  "Train the run's encoder (for complete.py --method=fast) against its newest "
                  "generator instead of the GAN; needs --run_dir or --resume.")
flags.DEFINE_integer("encoder_filters", _DEFAULTS.encoder_filters,
                     "Width of the encoder's first layer.")
flags.DEFINE_integer("encoder_steps", _DEFAULTS.encoder_steps,
                     "Encoder training steps in total (across resumes).")
flags.DEFINE_float("encoder_learning_rate", _DEFAULTS.encoder_learning_rate,
                   "Adam learning rate of the encoder.")


def build_config(run_dir: str) -> train_config.TrainConfig:
    """Config from the flags; when resuming, the run's saved config with only the flags given
    on this command line changed."""
    # Every field is a flag but face_template, which runs record (--crop=align) and
    # tools/measure_template.py measures.
    fields = [field.name for field in dataclasses.fields(train_config.TrainConfig)
              if field.name in FLAGS]
    values = {name: FLAGS[name].value for name in fields}
    values["devices"] = tuple(values["devices"])
    saved = runs.load_config(run_dir) if run_dir else None
    if saved is None:
        return train_config.TrainConfig(**values)
    given = {name: values[name] for name in fields if FLAGS[name].present}
    return dataclasses.replace(saved, **given)


def resolve_run_dir() -> str:
    """The run folder to continue, or '' for a new numbered run."""
    if FLAGS.run_dir:
        return FLAGS.run_dir
    if FLAGS.resume:
        return runs.latest_run_dir(FLAGS.runs_dir, FLAGS.run_name)
    return ""


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        run_dir = resolve_run_dir()
        if FLAGS.encoder and not run_dir:
            raise ValueError("--encoder trains against a trained run: give --run_dir or --resume")
        config = build_config(run_dir).validate()
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    print(config.to_json())
    print(f"Run folder: {run_dir or 'new run in ' + config.runs_dir}")
    if FLAGS.dry_run:
        return
    logging.set_verbosity(logging.WARNING)  # TensorFlow's own INFO lines (e.g. each save)
    python_logging.getLogger("dcgan_tf").setLevel(python_logging.INFO)
    # TensorFlow only now, so --help and flag errors answer at once.
    from dcgan_tf.training import encoder_trainer, loop
    try:
        if FLAGS.encoder:
            result = encoder_trainer.train_encoder(config, run_dir)
        else:
            result = loop.run(config, run_dir=run_dir)
    except ValueError as error:
        logging.error("%s", error)
        sys.exit(1)
    what = "the encoder " if FLAGS.encoder else ""
    print(f"Finished {what}at step {result.step}. Run folder: {result.run_dir}")
    print(f"Samples: {os.path.join(result.run_dir, 'samples')}")
    print(f"TensorBoard: tensorboard --logdir {os.path.join(result.run_dir, 'logs')}")


def run_main():
    """Console entry point ``dcgan-train``."""
    sys.modules["__main__"].__doc__ = __doc__  # --help shows the examples above
    app.run(main)


if __name__ == "__main__":
    run_main()
