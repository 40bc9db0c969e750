"""Frozen configuration objects for the command-line verbs.

Each config is a plain dataclass that the absl scripts fill from flags and the library consumes.
``validate()`` raises ``ValueError`` naming the flag at fault, so a bad command line fails before
any work (data loading, model building) starts.
"""

import dataclasses
import json
import os

CROPS = ("auto", "celeba", "ffhq", "center", "none")
G_LOSSES = ("non_saturating", "minimax")
LATENT_PRIORS = ("normal", "uniform")
STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker")
IMAGE_SIZES = (32, 64, 128)

# Fields that fix the shapes of the checkpointed variables: a resumed run must keep them.
ARCHITECTURE_FIELDS = ("image_size", "latent_dim", "latent_prior", "g_filters", "d_filters",
                       "kernel_size", "num_samples")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything ``train_lib.run`` needs; defaults train on synthetic faces in ~10 CPU minutes.

    Attributes mirror the flags of ``train.py`` (see ``train.py --help`` for their meaning).
    """

    data: str = "synthetic"
    crop: str = "auto"
    image_size: int = 64
    max_images: int = 0  # 0 = all images (synthetic: synthetic_images)
    synthetic_images: int = 12800
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
    g_steps: int = 1
    learning_rate: float = 2e-4
    beta1: float = 0.5
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

    def validate(self) -> "TrainConfig":
        """Checks every field; returns self so calls chain.

        Raises:
            ValueError: naming the flag whose value is out of range or unknown.
        """
        _check_choice("crop", self.crop, CROPS)
        _check_choice("image_size", self.image_size, IMAGE_SIZES)
        _check_choice("g_loss", self.g_loss, G_LOSSES)
        _check_choice("latent_prior", self.latent_prior, LATENT_PRIORS)
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_range("max_images", self.max_images, 0)
        _check_range("synthetic_images", self.synthetic_images, 1)
        _check_range("batch_size", self.batch_size, 1)
        _check_range("epochs", self.epochs, 1)
        _check_range("steps_per_epoch", self.steps_per_epoch, 0)
        _check_range("latent_dim", self.latent_dim, 1, 4096)
        _check_range("g_filters", self.g_filters, 1, 1024)
        _check_range("d_filters", self.d_filters, 1, 1024)
        _check_range("kernel_size", self.kernel_size, 2, 7)
        _check_range("g_steps", self.g_steps, 1, 10)
        _check_range("checkpoint_every", self.checkpoint_every, 1)
        _check_range("keep_checkpoints", self.keep_checkpoints, 1)
        _check_range("sample_every", self.sample_every, 1)
        _check_range("log_every", self.log_every, 1)
        _check_range("num_samples", self.num_samples, 1, 1024)
        if not 0.0 < self.learning_rate < 1.0:
            raise ValueError(f"--learning_rate must be in (0, 1), got {self.learning_rate}")
        if not 0.0 <= self.beta1 < 1.0:
            raise ValueError(f"--beta1 must be in [0, 1), got {self.beta1}")
        if not self.data:
            raise ValueError("--data must be 'synthetic' or a path, got an empty string")
        if self.run_name and (os.sep in self.run_name or self.run_name.startswith(".")):
            raise ValueError(f"--run_name must be a plain name, got {self.run_name!r}")
        return self

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Builds a config from a ``config.json`` dict, ignoring keys this version does not know."""
        known = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        if "devices" in kept:
            kept["devices"] = tuple(kept["devices"])
        return cls(**kept)


def _check_choice(flag: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"--{flag} must be one of {', '.join(map(str, choices))}; got {value!r}")


def _check_range(flag: str, value: int, low: int, high: int | None = None) -> None:
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"--{flag} must be {bound}, got {value}")
