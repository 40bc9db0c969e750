"""The core behind ``complete.py``: load a model and images, make masks, complete in batches,
write the pictures, ``metrics.json`` and TensorBoard loss curves.

Output folder layout:
    <name>_masked.png  <name>_generated.png  <name>_completed.png   per image
    grid.png            one row per image: original | masked | G(z) | completed
    optimisation.gif    with --gif_every: every image's best-so-far completion, step by step
    metrics.json        per image and a ``summary`` (hole_psnr, hole_ssim, psnr, ssim, l1,
                        realness, rounds, seconds_per_image) plus the settings; the metrics
                        compare with the original, which is ground truth when the hole was
                        made by the mask; realness is D's probability that the completion is
                        real
    logs/               TensorBoard: the mean loss per step of every batch
"""

import dataclasses
import json
import logging
import os
import time

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf import data, images as image_utils, inpaint, masks as mask_lib, metrics, serving
from dcgan_tf import synthetic, train_lib
from dcgan_tf.config import CompleteConfig

log = logging.getLogger(__name__)

HELD_OUT_SEED = 1_000_003  # synthetic faces never drawn by a default training run (seed 0)


def load_inputs(config: CompleteConfig, image_size: int) -> tuple[np.ndarray, list[str]]:
    """uint8 [N, S, S, 3] images and their names (held-out synthetic faces by default)."""
    if not config.images:
        faces = synthetic.faces(config.num_images, seed=HELD_OUT_SEED, image_size=image_size)
        return faces, [f"synthetic-{i:04d}" for i in range(len(faces))]
    paths = data.expand_image_paths(list(config.images))
    pictures, kept, problems = data.load_image_files(paths, crop=config.crop,
                                                     image_size=image_size)
    for problem in problems:
        log.warning("Skipping unreadable image %s", problem)
    if not kept:
        raise ValueError("--images: none of the images could be read")
    log.info("Images converted to RGB, cropped (--crop=%s) and resized to %dx%d",
             config.crop, image_size, image_size)
    return pictures, kept


def make_masks(config: CompleteConfig, paths: list[str], size: int) -> np.ndarray:
    """float32 [N, S, S, 1] masks for the images, 1 = known."""
    count = len(paths)
    if config.mask_file:
        mask = mask_lib.load_mask_file(config.mask_file, size, config.invert_mask, config.crop)
        return np.repeat(mask[None], count, axis=0)
    if config.mask_dir:
        return mask_lib.load_mask_dir(config.mask_dir, paths, size, config.invert_mask,
                                      config.crop)
    params = {"center": {"scale": config.mask_scale}, "random": {"fraction": config.mask_fraction},
              "grid": {"spacing": config.grid_spacing}}.get(config.mask, {})
    return mask_lib.make_masks(config.mask, count, size, seed=config.seed, **params)


def search_settings(settings: CompleteConfig, prior: str,
                    lowres_factor: int = 0) -> inpaint.SearchSettings:
    """The z-search settings of an (effective) CompleteConfig for a generator trained with
    ``prior``. The bamos preset starts from U(-1, 1). With a uniform prior z is clipped to
    [-1, 1] and the prior term is off (the density is flat); with a normal prior
    ``settings.clip_latents`` > 0 clips to [-c, c]."""
    prior = "uniform" if settings.method == "bamos" else prior
    uniform = prior == "uniform"
    return inpaint.SearchSettings(
        steps=settings.steps, learning_rate=settings.learning_rate,
        perceptual_weight=settings.perceptual_weight, contextual=settings.contextual,
        window=settings.window, known_weight=settings.known_weight,
        prior_weight=0.0 if uniform else settings.prior_weight, restarts=settings.restarts,
        schedule=settings.schedule, prior=prior,
        clip_latents=1.0 if uniform else (settings.clip_latents or None),
        select_by=settings.select_by, lowres_factor=lowres_factor, blend=settings.blend,
        start=settings.start, patience=settings.patience, tolerance=settings.tolerance)


def complete_batch(networks: train_lib.Networks, prior: str, targets, masks,
                   settings: CompleteConfig, *, seed: int, lowres_factor: int = 0,
                   snapshot_every: int = 0, progress=None) -> inpaint.Completion:
    """``inpaint.complete`` with the settings of an (effective) CompleteConfig.

    Args:
        networks: a run's restored networks.
        prior: the latent prior the generator was trained with ("normal" or "uniform").
        targets: [N, S, S, 3] in [-1, 1]; masks: [N, S, S, 1], 1 = known.
        settings: ``CompleteConfig.effective()``.
    """
    search = search_settings(settings, prior, lowres_factor)
    return inpaint.complete(
        networks.gan.generator, networks.gan.discriminator, targets, masks, seed=seed,
        encoder=networks.encoder,
        until_approved=settings.until_approved, max_rounds=settings.max_rounds,
        snapshot_every=snapshot_every, progress=progress, **dataclasses.asdict(search))


def run(config: CompleteConfig, verbose: int = 1) -> dict:
    """Completes the configured images and writes everything to ``config.output_dir``.

    The model is a run (completed here, with every option), or an exported SavedModel folder
    or a TF Serving endpoint (``config.server``), which run the completion baked in at export
    with this config's steps and seed.

    Returns:
        The ``metrics.json`` contents.
    """
    config = config.validate()
    image_utils.check_writable_dir(config.output_dir, "output_dir")
    settings = config.effective()
    if settings.method != "default":
        log.info("--method=%s: %d steps, learning rate %g (%s), start %s, patience %d",
                 settings.method, settings.steps, settings.learning_rate, settings.schedule,
                 settings.start, settings.patience)
    served = bool(config.server) or serving.is_saved_model(config.model)
    if served:
        _check_servable(config, settings.steps)
        completer = (serving.RestCompleter(config.server) if config.server
                     else serving.SavedModelCompleter(config.model))
        size = completer.image_size
    else:
        model_config, networks = train_lib.load_networks(config.model, config.runs_dir)
        if settings.start == "encoder" and networks.encoder is None:
            raise ValueError(f"--method=fast (--start=encoder) needs an encoder, and the model "
                             f"{config.model or 'newest run'} has none: train one with "
                             f"python train.py --encoder --run_dir=<the run>")
        size = model_config.image_size
    originals, names = load_inputs(config, size)
    masks = make_masks(config, names, size)
    if not _uses_lowres(config):
        _report_trivial_masks(names, masks)
    os.makedirs(config.output_dir, exist_ok=True)

    start = time.perf_counter()
    if served:
        completed, generated = _complete_served(completer, originals, masks, config,
                                               settings.steps, verbose)
        per_image_extra, frames = {}, []
    else:
        completed, generated, per_image_extra, frames = _complete_locally(
            networks, model_config.latent_prior, originals, masks, config, settings, verbose)
    seconds = (time.perf_counter() - start) / len(names)

    targets = image_utils.to_float(originals)
    outputs = {"masked": image_utils.to_uint8(targets * masks),  # the hole shows mid-grey
               "generated": image_utils.to_uint8(generated),
               "completed": image_utils.to_uint8(completed)}
    for index, name in enumerate(names):
        stem = os.path.splitext(os.path.basename(name))[0]
        for kind, pictures in outputs.items():
            image_utils.save_png(os.path.join(config.output_dir, f"{stem}_{kind}.png"),
                                 pictures[index])
    rows = np.stack([originals, outputs["masked"], outputs["generated"], outputs["completed"]], 1)
    image_utils.save_png(os.path.join(config.output_dir, "grid.png"),
                         image_utils.make_grid(rows.reshape((-1,) + rows.shape[2:]), columns=4))
    if frames:
        _write_optimisation_gif(os.path.join(config.output_dir, "optimisation.gif"), frames)

    per_image = metrics.completion_metrics(image_utils.to_float(outputs["completed"]), targets,
                                           masks)
    per_image.update(per_image_extra)
    summary = {key: float(np.nanmean(values)) for key, values in per_image.items()}
    summary["seconds_per_image"] = seconds
    report = {"settings": dataclasses.asdict(settings),
              "model": config.server or config.model or "newest run", "summary": summary,
              "images": [{"name": name, **{k: v[i] for k, v in per_image.items()}}
                         for i, name in enumerate(names)]}
    image_utils.atomic_write(os.path.join(config.output_dir, "metrics.json"),
                             lambda path: _write_json(path, report))
    return report


def _report_trivial_masks(names: list[str], masks: np.ndarray) -> None:
    """Warns about images whose mask leaves nothing to complete, or nothing to match."""
    known = masks.reshape(len(masks), -1)
    for name, image_known in zip(names, known):
        if image_known.min() == 1:
            log.warning("%s: the mask marks every pixel as known, so there is nothing to "
                        "complete: the completed image equals the input", name)
        elif image_known.max() == 0:
            log.warning("%s: the mask marks no pixel as known, so the result is a pure "
                        "generation of the model, unrelated to the input", name)


def _check_servable(config: CompleteConfig, steps: int) -> None:
    """Refuses options that the served graph does not have; ``steps`` are the effective ones."""
    where = "--server" if config.server else "an exported --model"
    if _uses_lowres(config):
        raise ValueError(f"--mask=lowres is not available with {where}; use a run folder")
    if config.until_approved or config.gif_every:
        raise ValueError(f"--until_approved and --gif_every are not available with {where}")
    log.info("Completing with the settings baked in at export; %d steps and --seed=%d are "
             "sent with each batch", steps, config.seed)


def _uses_lowres(config: CompleteConfig) -> bool:
    """Whether the masks are lowres ones (block means known), not masks read from files."""
    return mask_lib.is_lowres(config.mask) and not (config.mask_file or config.mask_dir)


def _complete_served(completer, originals, masks, config: CompleteConfig, steps: int,
                     verbose: int):
    """Completes batch by batch through a served model, sending ``steps`` (the effective
    settings', e.g. the --method preset's); float [-1, 1] completed, generated."""
    completed, generated = np.zeros(originals.shape, np.uint8), np.zeros(originals.shape, np.uint8)
    batches = range(0, len(originals), config.batch_size)
    bar = keras.utils.Progbar(len(batches), verbose=verbose, unit_name="batch")
    for batch_index, first in enumerate(batches):
        part = np.s_[first:first + config.batch_size]
        outputs = completer(originals[part], masks[part], steps, config.seed + first)
        completed[part], generated[part] = outputs["completed"], outputs["generated"]
        bar.update(batch_index + 1)
    return image_utils.to_float(completed), image_utils.to_float(generated)


def _complete_locally(networks, prior, originals, masks, config: CompleteConfig,
                      settings: CompleteConfig, verbose: int):
    """Completes batch by batch with a run's networks, with loss curves in TensorBoard.

    Returns completed and generated float [N, S, S, 3], per-image realness and rounds, and the
    optimisation GIF's frames per batch.
    """
    lowres = _uses_lowres(config)
    writer = tf.summary.create_file_writer(os.path.join(config.output_dir, "logs"))
    targets = image_utils.to_float(originals)
    completed, generated = np.zeros_like(targets), np.zeros_like(targets)
    realness, rounds = np.zeros([len(targets)]), np.zeros([len(targets)], np.int32)
    frames = []  # per batch: [F, n, S, S, 3]
    batches = range(0, len(targets), config.batch_size)
    steps_per_batch = settings.steps * (settings.max_rounds if settings.until_approved else 1)
    bar = keras.utils.Progbar(len(batches) * steps_per_batch, verbose=verbose,
                              stateful_metrics=["loss"])
    for batch_index, first in enumerate(batches):
        part = np.s_[first:first + config.batch_size]
        done = batch_index * steps_per_batch

        def progress(step, loss, done=done, batch_index=batch_index):
            bar.update(done + step, [("loss", loss)])
            with writer.as_default(step=step):
                tf.summary.scalar(f"loss/batch_{batch_index}", loss)

        result = complete_batch(networks, prior, targets[part], masks[part], settings,
                                seed=config.seed + first,
                                lowres_factor=config.lowres_factor if lowres else 0,
                                snapshot_every=settings.gif_every, progress=progress)
        completed[part], generated[part] = result.completed, result.generated
        realness[part], rounds[part] = result.realness, result.rounds
        if result.frames is not None:
            frames.append(result.frames)
    bar.update(len(batches) * steps_per_batch, finalize=True)  # retries may have ended early
    writer.flush()
    return (completed, generated, {"realness": realness.tolist(), "rounds": rounds.tolist()},
            frames)


def _write_optimisation_gif(path: str, frames: list[np.ndarray]) -> None:
    """One GIF frame per snapshot: a grid of all images' best-so-far completions."""
    every_image = np.concatenate(frames, axis=1)  # [F, N, S, S, 3]
    image_utils.save_gif(path, [image_utils.make_grid(image_utils.to_uint8(frame))
                                for frame in every_image], duration_ms=100)


def _write_json(path: str, value) -> None:
    with open(path, "w") as handle:
        json.dump(value, handle, indent=2, default=str)
        handle.write("\n")
