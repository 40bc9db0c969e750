"""``TrainConfig``: what a model was built and trained with, as a run's ``config.json`` (and a
packaged model's) holds it. ``train.py`` fills it from flags; inference reads it back to rebuild
the networks (``serving.loading``). Frozen; ``validate()`` raises ``ValueError`` naming the
flag at fault, so a bad command line fails before any work starts. No TensorFlow.
"""

import dataclasses
import json
import math
import os

from dcgan_tf.checks import check_choice, check_range
from dcgan_tf.data import synthetic
from dcgan_tf.data.crops import ALIGN_FRAMINGS, TRAIN_CROPS

G_LOSSES = ("non_saturating", "minimax", "hinge")
D_LOSSES = ("minimax", "hinge")
D_NORMS = ("batch", "spectral", "none")
PRECISIONS = ("off", "float16", "bfloat16")
LATENT_PRIORS = ("normal", "uniform")
STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker")
IMAGE_SIZES = (32, 64, 128)

# Fields that fix the checkpointed variables (and their meaning): a resumed run must keep them.
# (--mixed_precision does too, but only between float16, whose loss scaling wraps the optimizers,
# and the others: variables stay float32, so "off" and "bfloat16" resume each other; runs.py.)
ARCHITECTURE_FIELDS = ("image_size", "latent_dim", "latent_prior", "g_filters", "d_filters",
                       "kernel_size", "num_samples", "d_norm", "g_ema_kimg")
# ... and the fields that fix which images it trains on.
FIXED_FIELDS = ARCHITECTURE_FIELDS + ("held_out_faces",)
PREVIEW_FACES = 8  # held_out_faces of a run whose config.json predates the field but previews


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything ``training.loop.run`` needs; defaults train on synthetic faces in ~10 CPU minutes.

    Attributes mirror the flags of ``train.py`` (see ``train.py --help`` for their meaning).
    """

    data: str = "synthetic"
    crop: str = "auto"
    # With crop "align": the CelebA crop (ALIGN_FRAMINGS) whose framing faces are aligned to.
    align_framing: str = "celeba"
    image_size: int = 64
    max_images: int = 0  # 0 = all images (synthetic: synthetic_images)
    synthetic_images: int = synthetic.DEFAULT_FACES
    flip: bool = True
    batch_size: int = 32  # the paper's 64 halves the updates per CPU minute
    epochs: int = 3
    steps_per_epoch: int = 0  # 0 = one pass over the data set
    latent_dim: int = 100
    latent_prior: str = "normal"
    g_filters: int = 32
    d_filters: int = 32
    kernel_size: int = 4
    g_loss: str = "non_saturating"
    d_loss: str = "minimax"
    d_norm: str = "batch"  # the discriminator's normalisation: batch, spectral or none
    augment: str = ""  # DiffAugment of every image D sees, e.g. "translation,cutout,color"
    g_steps: int = 1
    learning_rate: float = 2e-4
    g_learning_rate: float = 0.0  # 0 = learning_rate
    d_learning_rate: float = 0.0  # 0 = learning_rate
    beta1: float = 0.5
    g_ema_kimg: float = 0.0  # half-life of G's weight average, in thousands of images; 0 = off
    g_ema_rampup: float = 0.05  # the half-life is at most this share of the images seen; 0 = no
    mixed_precision: str = "off"  # compute in float16 or bfloat16 (variables stay float32)
    jit_compile: bool = False  # XLA; 6x slower on CPU, so off by default
    preview_every: int = 1000  # completion previews in TensorBoard every N steps; 0 = off
    held_out_faces: int = PREVIEW_FACES  # faces never trained on, completed by the previews
    strategy: str = "auto"
    devices: tuple = ()
    sync_batchnorm: bool = True
    runs_dir: str = "runs"
    run_name: str = ""
    seed: int = 0
    checkpoint_every: int = 400
    keep_checkpoints: int = 3
    sample_every: int = 200
    log_every: int = 10
    num_samples: int = 64
    fid_every: int = 0  # 0 = no FID during training
    fid_inception: str = ""
    fid_real: str = ""  # "" = the training images
    fid_samples: int = 1000
    encoder_filters: int = 32  # width of the encoder's first layer (train.py --encoder)
    encoder_steps: int = 3000  # encoder training steps, in total across resumes
    encoder_learning_rate: float = 1e-3
    # Where the five face landmarks (align.LANDMARKS) sit in the training crops, as (x, y) pairs
    # relative to the crop's side (tools/measure_template.py; with crop "align", the template
    # of align_framing); () = not measured.
    face_template: tuple = ()

    def validate(self) -> "TrainConfig":
        """Checks every field; returns self so calls chain.

        Raises:
            ValueError: naming the flag whose value is out of range or unknown.
        """
        check_choice("crop", self.crop, TRAIN_CROPS)
        check_choice("align_framing", self.align_framing, ALIGN_FRAMINGS)
        check_choice("image_size", self.image_size, IMAGE_SIZES)
        check_choice("g_loss", self.g_loss, G_LOSSES)
        check_choice("d_loss", self.d_loss, D_LOSSES)
        check_choice("d_norm", self.d_norm, D_NORMS)
        check_choice("mixed_precision", self.mixed_precision, PRECISIONS)
        if self.augment:
            from dcgan_tf.models.augment import parse_policy  # TensorFlow: only for a given policy
            parse_policy(self.augment)
        check_choice("latent_prior", self.latent_prior, LATENT_PRIORS)
        check_choice("strategy", self.strategy, STRATEGIES)
        check_range("max_images", self.max_images, 0)
        check_range("synthetic_images", self.synthetic_images, 1)
        check_range("batch_size", self.batch_size, 1)
        check_range("epochs", self.epochs, 1)
        check_range("steps_per_epoch", self.steps_per_epoch, 0)
        check_range("latent_dim", self.latent_dim, 1, 4096)
        check_range("g_filters", self.g_filters, 1, 1024)
        check_range("d_filters", self.d_filters, 1, 1024)
        check_range("kernel_size", self.kernel_size, 2, 7)
        check_range("g_steps", self.g_steps, 1, 10)
        check_range("checkpoint_every", self.checkpoint_every, 1)
        check_range("keep_checkpoints", self.keep_checkpoints, 1)
        check_range("sample_every", self.sample_every, 1)
        check_range("log_every", self.log_every, 1)
        check_range("num_samples", self.num_samples, 1, 1024)
        check_range("fid_every", self.fid_every, 0)
        check_range("preview_every", self.preview_every, 0)
        check_range("held_out_faces", self.held_out_faces, 0, 64)
        check_range("fid_samples", self.fid_samples, 2)
        check_range("encoder_filters", self.encoder_filters, 1, 1024)
        check_range("encoder_steps", self.encoder_steps, 1)
        check_range("encoder_learning_rate", self.encoder_learning_rate, 0, 1,
                    open_low=True, open_high=True)
        if self.fid_every and not os.path.isfile(self.fid_inception):
            raise ValueError(f"--fid_every needs --fid_inception, the FID Inception weights file; "
                             f"not found: {self.fid_inception!r}")
        if self.fid_real and not os.path.exists(self.fid_real):
            raise ValueError(f"--fid_real path does not exist: {self.fid_real}")
        check_range("g_ema_kimg", self.g_ema_kimg, 0)
        check_range("g_ema_rampup", self.g_ema_rampup, 0, 1)
        check_range("learning_rate", self.learning_rate, 0, 1, open_low=True, open_high=True)
        for flag in ("g_learning_rate", "d_learning_rate"):
            check_range(flag, getattr(self, flag), 0, 1, open_high=True,
                        note="0 = --learning_rate")
        check_range("beta1", self.beta1, 0, 1, open_high=True)
        if not self.data:
            raise ValueError("--data must be 'synthetic' or a path, got an empty string")
        if self.face_template and (len(self.face_template) != 10 or
                                   not all(0.0 < value < 1.0 for value in self.face_template)):
            raise ValueError(f"face_template must be 5 (x, y) pairs inside the crop, in (0, 1); "
                             f"got {self.face_template}")
        if self.run_name and (os.sep in self.run_name or self.run_name.startswith(".")):
            raise ValueError(f"--run_name must be a plain name, got {self.run_name!r}")
        return self

    @property
    def g_rate(self) -> float:
        """The generator's learning rate (--g_learning_rate, else --learning_rate)."""
        return self.g_learning_rate or self.learning_rate

    @property
    def d_rate(self) -> float:
        """The discriminator's learning rate (--d_learning_rate, else --learning_rate)."""
        return self.d_learning_rate or self.learning_rate

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Builds a config from a ``config.json`` dict, ignoring keys this version does not know.

        A run saved before ``held_out_faces`` existed held out ``PREVIEW_FACES`` faces if it
        previewed (``preview_every`` > 0) and none if it predates previews too. A run that kept
        an average with the constant momentum of the former ``--g_ema`` keeps it: the half-life
        of that momentum at the run's batch size, without ramp-up."""
        known = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        momentum = values.get("g_ema", 0.0)
        if momentum and "g_ema_kimg" not in kept:
            batch = kept.get("batch_size", cls.batch_size)
            kept["g_ema_kimg"] = batch * math.log(0.5) / math.log(momentum) / 1000
            kept["g_ema_rampup"] = 0.0
        if "held_out_faces" not in kept:
            kept["held_out_faces"] = PREVIEW_FACES if kept.get("preview_every", 0) > 0 else 0
        for name in ("devices", "face_template"):
            if name in kept:
                kept[name] = tuple(kept[name])
        return cls(**kept)
