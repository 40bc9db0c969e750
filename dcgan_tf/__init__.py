"""dcgan_tf: a DCGAN of faces and semantic image completion (inpainting) in TensorFlow 2 / Keras 3.

The library behind the scripts ``train.py``, ``complete.py``, ``export.py``, ``evaluate.py`` and
``app.py``; it never parses flags. Images are float32 [B, H, W, C] in [-1, 1] inside it and
uint8 at its edges; masks are [B, H, W, 1] with 1 = known pixel, 0 = missing.

Layers, lowest first (tests/test_layout.py reads this list): a module imports only from its own
package and the layers before it, and no imports go round in a circle.
    base         the top-level modules: images (uint8 <-> [-1, 1], grids, PNG/GIF), files
                 (atomic writes, writable folders), checks (flag values); and pretrained/
    data         images in: the one decoder, file listing, crop presets, the training
                 pipeline, the embedded synthetic faces
    models       TrainConfig, the networks, the GAN's train_step, losses, DiffAugment, the
                 generator's average, seeded sampling, the encoder, run folders, a trained model
    inpainting   filling a hole: the latent search and its settings, masks, Poisson blending,
                 the classical fills
    photo        faces in photos: detection and the landmark check, alignment and the one
                 warp, paste-back, completing a photo, the aligned training faces, synthetic
                 scenes
    serving      models for inference: model specs, loading, SavedModel export, its clients
    evaluation   image metrics, Inception features, FID / KID / U-IDS / P-IDS, evaluate.py's report
    completion   complete.py's config and run
    training     train.py: inputs, the fit in a run folder, the GAN loop, the encoder trainer,
                 callbacks, strategies, the multi-worker launcher
    app          the web app
"""
