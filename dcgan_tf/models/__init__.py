"""Networks and what they are trained and sampled with: the config a model is built from
(``config``), the DCGAN networks (``networks``), the GAN's ``train_step`` (``gan``), losses,
DiffAugment, the generator's weight average, seeded sampling, the encoder for inference, run
folders (``runs``) and a trained model as inference holds it (``trained``)."""
