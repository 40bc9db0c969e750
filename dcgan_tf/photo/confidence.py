"""The face detector's confidence threshold, defined once (no TensorFlow here, so the CLIs'
``--help`` stays quick): ``detect.detect_faces`` uses no detection below it.

``MIN_CONFIDENCE`` is chosen on ``bench/detector_threshold.py``'s table for CelebA *training*
faces (2,000 photos: 400 faces placed in synthetic scenes at each of 240, 480, 960, 2,000 and
4,000 px) and 2,000 faceless scenes (waves, textures, shapes, FFHQ images with the face
replaced, noise, flat colours), with the landmark check (``plausibility``):

    threshold                          0.8   0.9   0.95  0.97  0.98
    missed faces per 100 faces         1.4   1.9   3.5   5.5   8.2
    false faces per 100 faceless scenes 0.5   0.15  0.15  0.1   0.0
    false faces beside a face, per 100  2.2   1.2   0.7   0.5   0.4

From 0.9 to 0.95 the false faces beside a real one (things in the data set's own pictures: a
pole's markings, a desk, like the 0.949 ghost of issue 33) fall by 40% and 1.6 more faces per
100 are missed, most of them small (at 240 px, 5.0 per 100). A ghost is painted with a face and
no warning; a missed face is reported with its confidence (``/api/faces``' "rejected", the
CLI's log), its hole is still filled from its surroundings, and ``--min_confidence=0.9`` takes
it.
"""

from dcgan_tf.checks import check_range

MIN_CONFIDENCE = 0.95


def check_min_confidence(value: float, flag: str = "min_confidence") -> float:
    """``value`` when it is a face probability in (0, 1].

    Raises:
        ValueError: naming ``--flag``.
    """
    check_range(flag, value, 0, 1, open_low=True)
    return value
