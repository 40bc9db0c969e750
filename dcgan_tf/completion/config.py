"""``CompleteConfig``: everything ``complete.py`` asks for, as a frozen dataclass the script fills
from flags and ``run.run`` consumes. ``validate()`` raises ``ValueError`` naming the flag at
fault, so a bad command line fails before any work (data loading, model building) starts. No
TensorFlow.
"""

import dataclasses

from dcgan_tf.checks import check_choice, check_range
from dcgan_tf.data.crops import CROPS
from dcgan_tf.inpainting.masks import MASK_KINDS
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.photo.confidence import MIN_CONFIDENCE, check_min_confidence


@dataclasses.dataclass(frozen=True)
class CompleteConfig:
    """Everything ``run.run`` needs (see ``complete.py --help``): which model, which
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
    min_confidence: float = MIN_CONFIDENCE  # --align: detections below it are no faces
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
            check_range(flag, getattr(self, flag), 0, 1, open_low=True)
        if self.server and not self.server.startswith(("http://", "https://")):
            raise ValueError(f"--server must be an http(s):// URL such as "
                             f"http://localhost:8501/v1/models/dcgan, got {self.server!r}")
        if self.mask_file and self.mask_dir:
            raise ValueError("give --mask_file or --mask_dir, not both")
        if self.mask_dir and not self.images:
            raise ValueError("--mask_dir matches masks to --images by file name; give --images")
        check_min_confidence(self.min_confidence)
        if self.min_confidence != MIN_CONFIDENCE and not self.align:
            raise ValueError("--min_confidence chooses the faces --align completes; "
                             "give --align")
        if self.align and not self.images:
            raise ValueError("--align completes photos: give --images")
        if self.align and self.mask == "lowres":
            raise ValueError("--mask=lowres is not available with --align")
        if self.align and self.gif_every:
            raise ValueError("--gif_every is not available with --align")
        return self
