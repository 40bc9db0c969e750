"""Training in a run folder (``models.runs``): the GAN (``loop``) and its encoder
(``encoder_trainer``), with their inputs, callbacks, strategies and the multi-worker launcher.
Inference never imports this package."""
