"""Measuring: completions against ground truth image by image (``image_metrics``), sets of images
by their Inception features (``inception``, ``distribution_metrics``: FID, KID, U-IDS, P-IDS),
and the library of ``evaluate.py`` (``report``)."""
