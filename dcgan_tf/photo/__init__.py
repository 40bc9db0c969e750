"""Faces in photos of any size: detection with five landmarks and the choice of the detections
that are faces to use (``detect``, with the landmark check of ``plausibility`` and the threshold
of ``confidence``), alignment to a model's framing and back (``align``: the one warp,
``resample``), paste-back into the hole at the photo's resolution (``paste``), completing a
photo's faces (``completion``), the training images of ``--crop=align`` (``aligned_faces``) and
synthetic photos to try it on (``scenes``)."""
