"""``SearchSettings``: how completion searches the generator's latent space and fills the hole,
every field documented where it is defined; the presets of ``--method`` (``PRESETS``,
``search_settings``). No TensorFlow: the scripts' flags take their defaults from here.
"""

import dataclasses

from dcgan_tf.checks import check_choice, check_range
from dcgan_tf.models.config import LATENT_PRIORS

METHODS = ("default", "bamos", "fast", "instant", "tune")
STARTS = ("random", "encoder")
CONTEXTUAL_LOSSES = ("weighted", "binary")
SCHEDULES = ("constant", "warmup_cosine")
BLENDS = ("poisson", "paste")
SELECTIONS = ("loss", "discriminator")


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """How completion searches z and fills the hole: the one object every road of completion
    takes (``complete.py``, the library, exports; ``search.complete`` runs it). The defaults are
    the ``default`` method, the settings that measured best in ``bench/complete_quality.py``;
    ``search_settings(method)`` gives the other presets (``PRESETS``). Each field's meaning is
    in the comment above it.

    ``prior`` is the latent prior of the generator the settings run on and ``lowres_factor`` the
    block side of lowres masks (0 otherwise): both follow from the model and the masks, not from
    a user's choice (``for_model``, ``completion.run``).
    """

    # The preset these settings start from (reports, exports); one of ``METHODS``.
    method: str = "default"
    # Adam steps on z per round (0 only for "instant": no search).
    steps: int = 300
    # Adam's learning rate; its peak under the "warmup_cosine" schedule.
    learning_rate: float = 0.05
    # lambda, the weight of the perceptual loss -log D(G(z)).
    perceptual_weight: float = 0.1
    # The contextual loss: "weighted" (Yeh et al.'s importance-weighted L1) or "binary" (bamos'
    # binary-mask L1); ``CONTEXTUAL_LOSSES``.
    contextual: str = "weighted"
    # Side of the neighbourhood of the weighted contextual loss.
    window: int = 7
    # Added to the weighted loss's weight of every known pixel (far context counts too).
    known_weight: float = 0.1
    # Weight of the prior term ||z||^2 / 2.
    prior_weight: float = 0.3
    # > 0 clips z to [-c, c] after every step; 0 = off.
    clip_latents: float = 0.0
    # Starts per image, optimised together in one batch; the best is kept (``select_by``).
    restarts: int = 1
    # The learning rate over the steps: "constant" or "warmup_cosine" (the StyleGAN2
    # projector's); ``SCHEDULES``.
    schedule: str = "warmup_cosine"
    # How G(z) fills the hole: "poisson" (Poisson blending) or "paste"; ``BLENDS``.
    blend: str = "poisson"
    # Chooses among restarts (and rounds) by the lowest "loss" or by the highest D(G(z))
    # ("discriminator"); ``SELECTIONS``.
    select_by: str = "loss"
    # "random" (every start from the prior) or "encoder": each image's first start is
    # E(masked image) (the model's encoder is required), the other ``restarts - 1`` are random;
    # ``STARTS``.
    start: str = "random"
    # > 0 stops a start once its loss has not gone below (1 - ``tolerance``) times its last
    # reference loss for that many steps (the reference being the loss of its last such
    # improvement); it keeps its best iterate and leaves the batch, so later steps are cheaper.
    # 0 runs every start for ``steps`` steps.
    patience: int = 0
    # The relative improvement that counts for ``patience`` (and resets its count).
    tolerance: float = 1e-3
    # After the first round, give every image whose completion the discriminator does not
    # accept as real (D(completed) < 0.5) a new round of random starts, up to ``max_rounds``
    # rounds in all; an image keeps a new result when it is approved or better by
    # ``select_by``.
    until_approved: bool = False
    # Rounds in all with ``until_approved``.
    max_rounds: int = 4
    # The generator's latent prior, "normal" or "uniform": the random starts come from it
    # (follows from the model: ``for_model``).
    prior: str = "normal"
    # > 0 for the lowres mask kind: match the means of lowres_factor x lowres_factor blocks
    # instead of pixels (follows from the masks: ``completion.run``).
    lowres_factor: int = 0
    # After the search, Adam steps that tune a per-call copy of G's weights and each image's z
    # together ("tune"; ``tuning``); 0 = none: G stays as trained.
    tune_steps: int = 0
    # Adam's learning rate on G's tuned weights.
    tune_learning_rate: float = 1e-4
    # Adam's learning rate on z while G is tuned (0 keeps the searched z).
    tune_latent_learning_rate: float = 1e-3
    # The blocks of G that are tuned: "all", or comma-separated block names of the generator
    # ("project", "up0", "up1", ..., "to_rgb"; a block is its layer and that layer's BatchNorm
    # scale and offset; BatchNorm statistics are never tuned).
    tune_blocks: str = "all"
    # Weight of Deep Generative Prior's feature matching: the L1 distance between D's block
    # activations of M * G(z) and of M * y (the known region), a mean per block, summed.
    feature_weight: float = 10.0
    # Weight of the locality term: the squared distance, summed over pixels, between the tuned
    # and the untuned G's images of ``locality_latents`` random latents (new ones every step).
    locality_weight: float = 0.1
    # Random latents of the locality term per step.
    locality_latents: int = 4

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
        check_range("tune_steps", self.tune_steps, 0, 100000)
        check_range("locality_latents", self.locality_latents, 1, 256)
        check_range("learning_rate", self.learning_rate, 0, 10, open_low=True, open_high=True)
        check_range("tolerance", self.tolerance, 0, 1, open_high=True)
        for flag in ("tune_learning_rate", "tune_latent_learning_rate"):
            check_range(flag, getattr(self, flag), 0, 10, open_high=True)
        if not self.tune_blocks.strip():
            raise ValueError('--tune_blocks must be "all" or names of the generator\'s blocks')
        for flag in ("perceptual_weight", "known_weight", "prior_weight", "clip_latents",
                     "feature_weight", "locality_weight"):
            check_range(flag, getattr(self, flag), 0)
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

    def reported_steps(self) -> int:
        """The most steps ``search.complete`` reports to its ``progress``: the search's steps
        in every round it may run, then the tuning's."""
        return self.steps * (self.max_rounds if self.until_approved else 1) + self.tune_steps


# The search of "fast" (and of "tune"): from E(masked image), 20 steps at most, each start
# stopping when it stops improving. Tuned on celeba_valid faces 256-319 (the benchmark uses
# 0-255): from E's start, 20 steps at lr 0.01 beat 40 or 80 (with warm-up) on the left half (the
# fit of the known half drifts from E's guess of the other half) and lose 0.2 dB to 40 on a
# central hole.
_FAST_SEARCH = {"start": "encoder", "steps": 20, "learning_rate": 0.01, "schedule": "constant",
                "patience": 5, "tolerance": 1e-3}

# The SearchSettings fields each method sets, whatever the flags say: a flag that names one of
# them with that method is refused (``search_settings``).
PRESETS = {
    "default": {},
    # bamos/dcgan-completion's losses, optimiser and steps: binary-mask L1, lambda 0.1, no prior
    # term, Adam lr 0.01 for 1000 steps, one start, hard paste. Starts come from the model's own
    # prior (``for_model``): z is clipped to [-1, 1] only for a uniform prior, as bamos' is.
    "bamos": {"contextual": "binary", "perceptual_weight": 0.1, "prior_weight": 0.0,
              "learning_rate": 0.01, "steps": 1000, "restarts": 1, "schedule": "constant",
              "blend": "paste", "select_by": "loss", "until_approved": False, "tune_steps": 0},
    "fast": {**_FAST_SEARCH, "tune_steps": 0},
    # No search: G(E(masked image)) blended into the hole (the web app's live preview).
    "instant": {"start": "encoder", "steps": 0, "restarts": 1, "until_approved": False,
                "tune_steps": 0},
    # fast's search, then G and z tuned together for each image (``tuning``) for 50 steps: on
    # 32 celeba_train faces, 50, 100 and 200 steps gave hole PSNRs within 0.1 dB
    # (bench/tune_study.py; docs/results.md).
    "tune": {**_FAST_SEARCH, "tune_steps": 50},
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
