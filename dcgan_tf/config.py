"""Frozen configuration objects for the command-line verbs.

Each config is a plain dataclass that the absl scripts fill from flags and the library consumes.
``validate()`` raises ``ValueError`` naming the flag at fault, so a bad command line fails before
any work (data loading, model building) starts.
"""

import dataclasses

from dcgan_tf.checks import check_choice, check_range
from dcgan_tf.data.crops import CROPS
from dcgan_tf.masks import MASK_KINDS
from dcgan_tf.models.config import LATENT_PRIORS

# --model of every verb (the rule is dcgan_tf.loading.resolve's): "" = the packaged default.
LATEST_RUN = "latest"
MODEL_HELP = ("Packaged model name (celeba64), run folder, checkpoint prefix, exported SavedModel "
              f"folder, or '{LATEST_RUN}' for the newest run in --runs_dir; default: the packaged "
              "celeba64, whatever runs the working folder holds.")

METHODS = ("default", "bamos", "fast", "instant")
STARTS = ("random", "encoder")
CONTEXTUAL_LOSSES = ("weighted", "binary")
SCHEDULES = ("constant", "warmup_cosine")
BLENDS = ("poisson", "paste")
SELECTIONS = ("loss", "discriminator")


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """How completion searches z and fills the hole: the one object every road of completion
    takes (``complete.py``, the library, exports). The defaults are the ``default`` method, the
    settings that measured best in ``bench/complete_quality.py``; ``search_settings(method)``
    gives the other presets (``PRESETS``). ``inpaint.complete`` documents each field's meaning.

    ``prior`` is the latent prior of the generator the settings run on and ``lowres_factor`` the
    block side of lowres masks (0 otherwise): both follow from the model and the masks, not from
    a user's choice (``for_model``, ``complete_lib``).
    """

    method: str = "default"  # the preset these settings start from (reports, exports)
    steps: int = 300
    learning_rate: float = 0.05
    perceptual_weight: float = 0.1
    contextual: str = "weighted"
    window: int = 7
    known_weight: float = 0.1
    prior_weight: float = 0.3
    clip_latents: float = 0.0  # clip z to [-c, c] after every step; 0 = off
    restarts: int = 1
    schedule: str = "warmup_cosine"
    blend: str = "poisson"
    select_by: str = "loss"
    start: str = "random"  # "encoder": start 0 of every image from E(masked image)
    patience: int = 0  # > 0: a start stops after this many steps without improving
    tolerance: float = 1e-3  # the relative improvement that resets the patience count
    until_approved: bool = False
    max_rounds: int = 4
    prior: str = "normal"
    lowres_factor: int = 0

    def validate(self) -> "SearchSettings":
        """Raises ValueError naming the flag at fault, or a field that contradicts ``method``'s
        preset; returns self."""
        check_choice("method", self.method, METHODS)
        check_choice("contextual", self.contextual, CONTEXTUAL_LOSSES)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("blend", self.blend, BLENDS)
        check_choice("select_by", self.select_by, SELECTIONS)
        check_choice("start", self.start, STARTS)
        check_choice("prior", self.prior, LATENT_PRIORS)
        check_range("steps", self.steps, 0 if self.method == "instant" else 1, 100000)
        check_range("restarts", self.restarts, 1, 256)
        check_range("window", self.window, 1, 63)
        check_range("patience", self.patience, 0, 100000)
        check_range("max_rounds", self.max_rounds, 1, 100)
        check_range("lowres_factor", self.lowres_factor, 0)
        if not 0.0 < self.learning_rate < 10.0:
            raise ValueError(f"--learning_rate must be in (0, 10), got {self.learning_rate}")
        if not 0.0 <= self.tolerance < 1.0:
            raise ValueError(f"--tolerance must be in [0, 1), got {self.tolerance}")
        for flag in ("perceptual_weight", "known_weight", "prior_weight", "clip_latents"):
            if getattr(self, flag) < 0:
                raise ValueError(f"--{flag} must be >= 0, got {getattr(self, flag)}")
        contradicting = [f"--{name}={getattr(self, name)} (it sets {value})"
                         for name, value in PRESETS[self.method].items()
                         if getattr(self, name) != value]
        if contradicting:
            raise ValueError(f"--method={self.method} contradicts {', '.join(contradicting)}")
        return self

    def for_model(self, latent_prior: str) -> "SearchSettings":
        """The settings as they run on a generator trained with ``latent_prior``: starts come
        from that prior; a uniform prior clips z to [-1, 1] and has no prior term (its density
        is flat), as bamos/dcgan-completion does for its uniform-prior model."""
        if latent_prior == "uniform":
            return dataclasses.replace(self, prior="uniform", clip_latents=1.0, prior_weight=0.0)
        return dataclasses.replace(self, prior=latent_prior)


# The SearchSettings fields each method sets, whatever the flags say: a flag that names one of
# them with that method is refused (``search_settings``).
PRESETS = {
    "default": {},
    # bamos/dcgan-completion's losses, optimiser and steps: binary-mask L1, lambda 0.1, no prior
    # term, Adam lr 0.01 for 1000 steps, one start, hard paste. Starts come from the model's own
    # prior (``for_model``): z is clipped to [-1, 1] only for a uniform prior, as bamos' is.
    "bamos": {"contextual": "binary", "perceptual_weight": 0.1, "prior_weight": 0.0,
              "learning_rate": 0.01, "steps": 1000, "restarts": 1, "schedule": "constant",
              "blend": "paste", "select_by": "loss", "until_approved": False},
    # From E(masked image), 20 steps at most, each start stopping when it stops improving.
    # Tuned on celeba_valid faces 256-319 (the benchmark uses 0-255): from E's start, 20 steps
    # at lr 0.01 beat 40 or 80 (with warm-up) on the left half (the fit of the known half
    # drifts from E's guess of the other half) and lose 0.2 dB to 40 on a central hole.
    "fast": {"start": "encoder", "steps": 20, "learning_rate": 0.01, "schedule": "constant",
             "patience": 5, "tolerance": 1e-3},
    # No search: G(E(masked image)) blended into the hole (the web app's live preview).
    "instant": {"start": "encoder", "steps": 0, "restarts": 1, "until_approved": False},
}


def search_settings(method: str = "default", **flags) -> SearchSettings:
    """The settings of ``method``'s preset with the search flags a user gave.

    Args:
        method: one of ``METHODS``.
        **flags: SearchSettings fields given on the command line (or in a request).

    Raises:
        ValueError: naming a flag that the method sets itself (even to the same value: the
            method decides), or any invalid value.
    """
    check_choice("method", method, METHODS)
    unknown = sorted(set(flags) - set(SEARCH_FLAGS))
    if unknown:
        raise ValueError(f"unknown search settings: {', '.join(unknown)}")
    overridden = [f"--{name}" for name in flags if name in PRESETS[method]]
    if overridden:
        raise ValueError(f"--method={method} sets {', '.join(overridden)} itself; leave "
                         f"{'it' if len(overridden) == 1 else 'them'} out, or use "
                         f"--method=default to choose every setting (e.g. --start=encoder)")
    return dataclasses.replace(SearchSettings(), method=method, **PRESETS[method],
                               **flags).validate()


# The SearchSettings fields a user sets (flags of complete.py); the rest follow from the model
# and the masks.
SEARCH_FLAGS = tuple(field.name for field in dataclasses.fields(SearchSettings)
                     if field.name not in ("method", "prior", "lowres_factor"))


@dataclasses.dataclass(frozen=True)
class CompleteConfig:
    """Everything ``complete_lib.run`` needs (see ``complete.py --help``): which model, which
    images and masks, where the results go, and the search settings.

    ``search_flags`` names the search settings the user gave (flags present on the command
    line): completion through an export checks just those against the settings baked into it.
    """

    model: str = ""
    server: str = ""  # a TF Serving REST endpoint, http://HOST:8501/v1/models/NAME
    runs_dir: str = "runs"
    images: tuple = ()
    num_images: int = 16  # held-out synthetic faces when no images are given
    crop: str = "auto"
    mask: str = "center"
    mask_scale: float = 0.25
    mask_fraction: float = 0.8
    grid_spacing: int = 4
    lowres_factor: int = 8
    mask_file: str = ""
    mask_dir: str = ""
    invert_mask: bool = False
    align: bool = False  # photos at their own size: detect, align, complete, paste back
    search: SearchSettings = dataclasses.field(default_factory=SearchSettings)
    search_flags: tuple = ()
    gif_every: int = 0
    seed: int = 0
    batch_size: int = 16
    output_dir: str = "completions"

    def validate(self) -> "CompleteConfig":
        """Raises ValueError naming the flag at fault; returns self."""
        check_choice("crop", self.crop, CROPS)
        check_choice("mask", self.mask, MASK_KINDS)
        self.search.validate()
        check_range("gif_every", self.gif_every, 0)
        check_range("num_images", self.num_images, 1)
        check_range("grid_spacing", self.grid_spacing, 1)
        check_range("lowres_factor", self.lowres_factor, 1)
        check_range("batch_size", self.batch_size, 1)
        for flag in ("mask_scale", "mask_fraction"):
            if not 0.0 < getattr(self, flag) <= 1.0:
                raise ValueError(f"--{flag} must be in (0, 1], got {getattr(self, flag)}")
        if self.server and not self.server.startswith(("http://", "https://")):
            raise ValueError(f"--server must be an http(s):// URL such as "
                             f"http://localhost:8501/v1/models/dcgan, got {self.server!r}")
        if self.mask_file and self.mask_dir:
            raise ValueError("give --mask_file or --mask_dir, not both")
        if self.mask_dir and not self.images:
            raise ValueError("--mask_dir matches masks to --images by file name; give --images")
        if self.align and not self.images:
            raise ValueError("--align completes photos: give --images")
        if self.align and self.mask == "lowres":
            raise ValueError("--mask=lowres is not available with --align")
        if self.align and self.gif_every:
            raise ValueError("--gif_every is not available with --align")
        return self
