"""How much the web app takes, defined once: ``app.py``'s flags take their defaults and their
checks from here (this module imports no TensorFlow, so ``app.py --help`` stays quick)."""

import dataclasses

from dcgan_tf.checks import check_range
from dcgan_tf.data import decode
from dcgan_tf.photo.confidence import MIN_CONFIDENCE, check_min_confidence


@dataclasses.dataclass(frozen=True)
class Limits:
    """What the app accepts and keeps, and which detections it takes for faces.

    Attributes:
        max_upload_bytes: a request's body (photo and mask together).
        max_pixels: a photo's pixels (and its mask's), at most ``decode.MAX_PIXELS``;
            larger photos get 400 before they are decoded. A request's working memory grows
            with it (the photo, its copy being completed, the PNG).
        photo_cache_bytes: pixels of decoded photos kept (with their faces) for the next
            request on the same photo; the photo in use is kept even when it alone is larger.
        photo_cache_size: photos kept, at most.
        preview_queue, faces_queue, complete_queue: jobs waiting or running in each lane
            before a 503.
        min_confidence: the face detector's confidence below which a detection is not used
            as a face (reported in /api/faces' "rejected").
    """

    max_upload_bytes: int = 50_000_000
    max_pixels: int = 24_000_000
    photo_cache_bytes: int = 300_000_000
    photo_cache_size: int = 16
    preview_queue: int = 4
    faces_queue: int = 4
    complete_queue: int = 8
    min_confidence: float = MIN_CONFIDENCE

    @classmethod
    def from_flags(cls, *, max_upload_mb: int, max_megapixels: float, queue: int,
                   min_confidence: float = MIN_CONFIDENCE) -> "Limits":
        """The defaults with the limits ``app.py``'s flags set.

        Raises:
            ValueError: naming the flag out of range.
        """
        check_range("max_upload_mb", max_upload_mb, 1)
        check_range("queue", queue, 1)
        check_min_confidence(min_confidence)
        check_range("max_megapixels", max_megapixels, 0, decode.MAX_PIXELS / 1e6, open_low=True)
        return cls(max_upload_bytes=max_upload_mb * 1_000_000,
                   max_pixels=round(max_megapixels * 1e6), complete_queue=queue,
                   min_confidence=min_confidence)
