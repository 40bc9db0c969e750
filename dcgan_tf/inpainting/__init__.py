"""How a hole is filled, on images [B, H, W, 3] in [-1, 1] with masks [B, H, W, 1] (1 = known):
the search of the generator's latent space (``search``) with its settings and presets
(``settings``), the masks (``masks``), Poisson blending (``blend``) and the classical fills
without a model (``classical``). All of it runs in this process or inside a SavedModel; files,
photos and models are the callers' (``completion``, ``photo``, ``serving``)."""
