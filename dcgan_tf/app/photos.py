"""Decoded photos and their face detections, cached by the hash of the uploaded bytes: each is
decoded and searched once, even when two lanes ask at the same time, so the preview of a photo
being painted costs only the completion."""

import collections
import hashlib
import threading

import numpy as np

from dcgan_tf.app.limits import Limits
from dcgan_tf.data import decode
from dcgan_tf.photo import detect


class CachedPhoto:
    """A cached photo: ``pixels`` uint8 [H, W, 3] (upright) and its ``detections``
    (``detect.Detections``: the faces to use and those rejected), each computed once, under
    ``lock``: a second request for the same photo waits for the first's result instead of
    computing it again."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pixels: np.ndarray | None = None
        self.detections: detect.Detections | None = None


class PhotoCache:
    """Decoded photos and their face detections, by the SHA-256 of the uploaded bytes; the least
    recently used go first once there are more than ``limits.photo_cache_size`` or their pixels
    pass ``limits.photo_cache_bytes``. Safe from several threads."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._entries = collections.OrderedDict()
        self._bytes = 0  # pixels of the decoded entries
        self._lock = threading.Lock()

    def photo(self, data: bytes) -> CachedPhoto:
        """The cached photo of ``data``, its pixels decoded once.

        Raises:
            decode.UnreadableImage: naming the ``image`` field.
        """
        key = hashlib.sha256(data).digest()
        with self._lock:
            entry = self._entries.setdefault(key, CachedPhoto())
            self._entries.move_to_end(key)
        if entry.pixels is not None:  # no wait for a detection running on it
            return entry
        with entry.lock:
            if entry.pixels is None:
                try:
                    pixels = decode.read_rgb(data, "image", self.limits.max_pixels)
                except decode.UnreadableImage:
                    with self._lock:
                        if self._entries.get(key) is entry:
                            del self._entries[key]
                    raise
                with self._lock:
                    entry.pixels = pixels
                    if self._entries.get(key) is entry:  # not dropped by a failed decode
                        self._bytes += pixels.nbytes
                        self._evict(keep=key)
        return entry

    def detections(self, entry: CachedPhoto) -> detect.Detections:
        """The face detections of a cached photo, made once."""
        if entry.detections is None:
            with entry.lock:
                if entry.detections is None:
                    entry.detections = detect.detect_faces(entry.pixels,
                                                               self.limits.min_confidence)
        return entry.detections

    @property
    def nbytes(self) -> int:
        """Bytes of the cached pixels."""
        return self._bytes

    def _evict(self, keep: bytes) -> None:
        """Drops the least recently used decoded photos, never ``keep``, until the cache is
        within its limits (hold ``_lock``)."""
        for key in list(self._entries):
            if (len(self._entries) <= self.limits.photo_cache_size
                    and self._bytes <= self.limits.photo_cache_bytes):
                return
            entry = self._entries[key]
            if key != keep and entry.pixels is not None:
                self._bytes -= entry.pixels.nbytes
                del self._entries[key]
