"""Training in a run folder (``models.runs``): the GAN (``loop``) and its encoder
(``encoder_trainer``), with their inputs (``inputs``), the fit shared by both (``fitting``),
callbacks, strategies (``distribute``) and the multi-worker launcher (``launch``, ``python -m
dcgan_tf.training.launch``). Inference never imports this package."""
