"""Complete images with missing regions using a trained DCGAN (semantic inpainting).

Searches the generator's latent space for the image that matches the known pixels and that the
discriminator finds real, then blends it into the hole. Masks: 1 = known, 0 = to fill.

Examples:
  # Right after `python train.py`: its run on held-out synthetic faces, central hole:
  python complete.py --model=latest
  # Your own photos at their own size: faces found, aligned, completed and put back:
  python complete.py --align --images='photos/*.jpg' --mask_dir=holes/
  python complete.py --align --images=group.jpg --mask=center   # a hole in every face
  # Face crops framed like the training crops, left half missing, 8 faces per batch:
  python complete.py --images='crops/*.jpg' --crop=center --mask=left --batch_size=8
  # CelebA-style crops with LaMa thick strokes, a given run, Poisson blending:
  python complete.py --model=runs/00001-celeba_train-64 --images=faces/ --mask=thick
  # A mask drawn by hand (black = missing) for every image, or one mask per image by name:
  python complete.py --images=faces/ --mask_file=hole.png
  python complete.py --images=faces/ --mask_dir=masks/
  # The classic settings of bamos/dcgan-completion, to compare against:
  python complete.py --method=bamos
  # Fast: start from the model's encoder (a run's: python train.py --encoder --resume):
  python complete.py --method=fast --images=faces/
  # Tune: fast's search, then a copy of G tuned to each face (about a second a face on 2 cores):
  python complete.py --method=tune --images=faces/ --mask=left
  # With an exported model (export.py), here or behind TF Serving:
  python complete.py --model=export/dcgan/1 --images=faces/
  python complete.py --server=http://localhost:8501/v1/models/dcgan --images=faces/
  # Retry until the discriminator accepts each completion, and animate the search:
  python complete.py --until_approved --max_rounds=4 --gif_every=25
Mask files: pixels darker than 50% grey are missing (--invert_mask swaps that).
"""

import dataclasses
import logging as python_logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from absl import app, flags, logging  # noqa: E402

from dcgan_tf.completion import config as complete_config  # noqa: E402
from dcgan_tf.data import crops  # noqa: E402
from dcgan_tf.inpainting import settings as search_config  # noqa: E402
from dcgan_tf.inpainting.masks import MASK_KINDS  # noqa: E402
from dcgan_tf.serving import specs  # noqa: E402

_DEFAULTS = complete_config.CompleteConfig()
_SEARCH = _DEFAULTS.search
FLAGS = flags.FLAGS

flags.DEFINE_string("model", _DEFAULTS.model, specs.MODEL_HELP)
flags.DEFINE_string("server", _DEFAULTS.server,
                    "TF Serving REST endpoint (http://HOST:8501/v1/models/NAME) to complete on.")
flags.DEFINE_string("runs_dir", _DEFAULTS.runs_dir, "Where --model=latest looks for runs.")
flags.DEFINE_list("images", list(_DEFAULTS.images),
                  "Image files, folders or globs; default: held-out synthetic faces.")
flags.DEFINE_integer("num_images", _DEFAULTS.num_images,
                     "How many synthetic faces when --images is not given.")
flags.DEFINE_enum("crop", _DEFAULTS.crop, crops.CROPS,
                  "Crop preset, as in training; auto cuts CelebA's 178x218 images as the model "
                  "was trained (celeba, or celeba_face for a celeba_face run) and any other "
                  "image to its central square.")
flags.DEFINE_enum("mask", _DEFAULTS.mask, MASK_KINDS, "Kind of mask to make.")
flags.DEFINE_float("mask_scale", _DEFAULTS.mask_scale, "center: hole area fraction.")
flags.DEFINE_float("mask_fraction", _DEFAULTS.mask_fraction, "random: missing pixel fraction.")
flags.DEFINE_integer("grid_spacing", _DEFAULTS.grid_spacing, "grid: every k-th pixel known.")
flags.DEFINE_integer("lowres_factor", _DEFAULTS.lowres_factor, "lowres: block side k.")
flags.DEFINE_string("mask_file", _DEFAULTS.mask_file, "One mask image for every image.")
flags.DEFINE_string("mask_dir", _DEFAULTS.mask_dir, "Folder of masks named like the images.")
flags.DEFINE_bool("invert_mask", _DEFAULTS.invert_mask, "Mask files: light = missing.")
flags.DEFINE_bool("align", _DEFAULTS.align,
                  "Photos at their own size: find each face, align it to the model's framing, "
                  "complete the faces the hole meets and blend them back into the photo. Mask "
                  "files are drawn on the photo; --mask kinds are made in each face's crop.")
flags.DEFINE_float("min_confidence", _DEFAULTS.min_confidence,
                   "--align: the face detector's confidence below which a detection is not "
                   "completed as a face (the table that chose the default: README, Complete "
                   "a photo).")
flags.DEFINE_enum("method", _SEARCH.method, search_config.METHODS,
                  "default; bamos (classic settings); fast (from the run's encoder, few steps, "
                  "early stop); instant (G(E(masked image)), no search); tune (fast, then G "
                  "tuned to each image). bamos, fast, instant and tune set the optimisation "
                  "flags themselves.")
flags.DEFINE_integer("steps", _SEARCH.steps, "Adam steps on z.")
flags.DEFINE_float("learning_rate", _SEARCH.learning_rate, "Adam (peak) learning rate.")
flags.DEFINE_float("perceptual_weight", _SEARCH.perceptual_weight,
                   "lambda: weight of -log D(G(z)).")
flags.DEFINE_enum("contextual", _SEARCH.contextual, search_config.CONTEXTUAL_LOSSES,
                  "Contextual loss: Yeh's importance-weighted L1 or bamos' binary-mask L1.")
flags.DEFINE_integer("window", _SEARCH.window, "Neighbourhood side of the weighted loss.")
flags.DEFINE_float("known_weight", _SEARCH.known_weight,
                   "Weighted loss: extra weight on every known pixel (far context counts).")
flags.DEFINE_float("prior_weight", _SEARCH.prior_weight,
                   "Weight of ||z||^2 / 2, the latent prior's negative log-density.")
flags.DEFINE_float("clip_latents", _SEARCH.clip_latents,
                   "Normal prior: clip z to [-c, c] (0 = off); uniform priors clip to [-1, 1].")
flags.DEFINE_integer("restarts", _SEARCH.restarts, "Starts per image; the best is kept.")
flags.DEFINE_enum("schedule", _SEARCH.schedule, search_config.SCHEDULES,
                  "Learning-rate schedule.")
flags.DEFINE_enum("blend", _SEARCH.blend, search_config.BLENDS, "How G(z) fills the hole.")
flags.DEFINE_enum("select_by", _SEARCH.select_by, search_config.SELECTIONS,
                  "Keep the start with the lowest loss, or the one D finds most real.")
flags.DEFINE_enum("start", _SEARCH.start, search_config.STARTS,
                  "random: every start from the prior; encoder: each image's first start from "
                  "the run's encoder (train.py --encoder).")
flags.DEFINE_integer("patience", _SEARCH.patience,
                     "> 0: a start stops after this many steps without improving its loss by "
                     "--tolerance (relative); 0 = every start runs --steps steps.")
flags.DEFINE_float("tolerance", _SEARCH.tolerance, "Relative improvement for --patience.")
flags.DEFINE_bool("until_approved", _SEARCH.until_approved,
                  "Give images whose completion D judges fake (p < 0.5) new starts.")
flags.DEFINE_integer("max_rounds", _SEARCH.max_rounds,
                     "--until_approved: at most this many rounds of starts per image.")
flags.DEFINE_integer("tune_steps", _SEARCH.tune_steps,
                     "> 0: after the search, tune a copy of G and z to each image for this many "
                     "Adam steps (--method=tune sets it); 0 = G as trained.")
flags.DEFINE_float("tune_learning_rate", _SEARCH.tune_learning_rate,
                   "Adam's learning rate on G's tuned weights.")
flags.DEFINE_float("tune_latent_learning_rate", _SEARCH.tune_latent_learning_rate,
                   "Adam's learning rate on z while G is tuned (0 keeps the searched z).")
flags.DEFINE_string("tune_blocks", _SEARCH.tune_blocks,
                    "G's blocks to tune: all, or comma-separated names (project, up0, up1, ..., "
                    "to_rgb).")
flags.DEFINE_float("feature_weight", _SEARCH.feature_weight,
                   "Tuning: weight of D's feature matching on the known region (DGP).")
flags.DEFINE_float("locality_weight", _SEARCH.locality_weight,
                   "Tuning: weight of the tuned G's distance to G on random latents (PTI).")
flags.DEFINE_integer("locality_latents", _SEARCH.locality_latents,
                     "Tuning: random latents of the locality term per step.")
flags.DEFINE_integer("gif_every", _DEFAULTS.gif_every,
                     "> 0: write optimisation.gif with a frame every that many steps.")
flags.DEFINE_integer("seed", _DEFAULTS.seed, "Seed of random masks and starting latents.")
flags.DEFINE_integer("batch_size", _DEFAULTS.batch_size, "Images completed together.")
flags.DEFINE_string("output_dir", _DEFAULTS.output_dir, "Where the results are written.")


def build_config() -> complete_config.CompleteConfig:
    """Config from the flags: the --method preset with the search flags given (refusing those
    the preset sets itself), and the other flags."""
    if FLAGS.align and FLAGS["crop"].present:
        raise ValueError("--align frames each face itself; --crop (the framing of crops "
                         "without --align) would be ignored: leave it out")
    given = [name for name in ("method",) + search_config.SEARCH_FLAGS if FLAGS[name].present]
    search = search_config.search_settings(
        FLAGS.method, **{name: FLAGS[name].value for name in given if name != "method"})
    fields = [field.name for field in dataclasses.fields(complete_config.CompleteConfig)
              if field.name not in ("search", "search_flags")]
    values = {name: FLAGS[name].value for name in fields}
    values["images"] = tuple(values["images"])
    return complete_config.CompleteConfig(**values, search=search, search_flags=tuple(given))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        config = build_config().validate()
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    logging.set_verbosity(logging.WARNING)
    python_logging.getLogger("dcgan_tf").setLevel(python_logging.INFO)
    from dcgan_tf.completion import run as completion_run
    try:
        report = completion_run.run(config, verbose=1 if sys.stdout.isatty() else 2)
    except ValueError as error:
        logging.error("%s", error)
        sys.exit(1)
    summary = report["summary"]
    for image in report["images"] if report.get("align") else []:
        print(f"{image['name']}: {hole_sources(image['hole_sources'])}")
    print(" ".join(f"{key}={value:.4g}" for key, value in summary.items()))
    print(f"Results: {config.output_dir} ({written(config, report)})")


def written(config, report: dict) -> str:
    """What the run wrote to ``config.output_dir``, as the last line names it."""
    if report.get("align"):
        return (f"{len(report['images'])} <photo>_completed.png at the photos' sizes, the "
                f"aligned faces' views, metrics.json")
    names = ["grid.png", "per-image PNGs", "metrics.json"]
    if config.gif_every:
        names.append("optimisation.gif")
    if os.path.isdir(os.path.join(config.output_dir, "logs")):  # completed here, not served
        names.append("logs/ (TensorBoard)")
    return ", ".join(names)


def hole_sources(sources: dict) -> str:
    """What filled a photo's hole, from its ``metrics.json`` entry's ``hole_sources``: "face0
    62%, face1 20%, from its surroundings 18% of the hole" (faces numbered as the
    ``<name>_face<k>_*.png`` files)."""
    parts = [f"face{number} {100 * share:.0f}%" for number, share in enumerate(sources["faces"])]
    if sources["classical"] > 0:
        parts.append(f"from its surroundings {100 * sources['classical']:.0f}%")
    return ", ".join(parts) + " of the hole"


def run_main():
    """Console entry point ``dcgan-complete``."""
    sys.modules["__main__"].__doc__ = __doc__
    app.run(main)


if __name__ == "__main__":
    run_main()
