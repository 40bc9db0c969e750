"""The library behind ``complete.py``: load a model and images, make masks, complete in batches,
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

from dcgan_tf import files, images as image_utils
from dcgan_tf.completion.config import CompleteConfig
from dcgan_tf.data import crops, decode, listing, synthetic
from dcgan_tf.evaluation import image_metrics
from dcgan_tf.inpainting import masks as mask_lib, search
from dcgan_tf.inpainting.settings import PRESETS, SearchSettings
from dcgan_tf.models import trained
from dcgan_tf.photo import align, completion as photo_lib, detect
from dcgan_tf.serving import clients, loading, specs

log = logging.getLogger(__name__)


def load_inputs(config: CompleteConfig, image_size: int,
                celeba_framing: str) -> tuple[np.ndarray, list[str]]:
    """uint8 [N, S, S, 3] images and their names (held-out synthetic faces by default); with
    --crop=auto, CelebA frames are cut to ``celeba_framing``."""
    if not config.images:
        faces = synthetic.faces(config.num_images, seed=synthetic.HELD_OUT_SEED,
                                 image_size=image_size)
        return faces, [f"synthetic-{i:04d}" for i in range(len(faces))]
    paths = listing.expand_image_paths(list(config.images))
    pictures, kept, problems = listing.load_image_files(
        paths, crop=config.crop, image_size=image_size, celeba_framing=celeba_framing)
    for problem in problems:
        log.warning("Skipping unreadable image %s", problem)
    if not kept:
        raise ValueError("--images: none of the images could be read")
    log.info("Images converted to RGB, cropped (--crop=%s%s) and resized to %dx%d",
             config.crop, f", CelebA frames to {celeba_framing}" if config.crop == "auto" else "",
             image_size, image_size)
    return pictures, kept


def make_masks(config: CompleteConfig, paths: list[str], size: int,
               celeba_framing: str) -> np.ndarray:
    """float32 [N, S, S, 1] masks for the images, 1 = known (mask files drawn on the photos
    cropped like them: ``load_inputs``)."""
    count = len(paths)
    if config.mask_file:
        mask = mask_lib.load_mask_file(config.mask_file, size, config.invert_mask, config.crop,
                                       celeba_framing)
        return np.repeat(mask[None], count, axis=0)
    if config.mask_dir:
        return mask_lib.load_mask_dir(config.mask_dir, paths, size, config.invert_mask,
                                      config.crop, celeba_framing)
    return _kind_masks(config, count, size, config.seed)


def _kind_masks(config: CompleteConfig, count: int, size: int, seed: int) -> np.ndarray:
    """float32 [N, S, S, 1] masks of the --mask kind with its parameters' flags."""
    params = {"center": {"scale": config.mask_scale}, "random": {"fraction": config.mask_fraction},
              "grid": {"spacing": config.grid_spacing}}.get(config.mask, {})
    return mask_lib.make_masks(config.mask, count, size, seed=seed, **params)


@dataclasses.dataclass
class Completer:
    """What completes the images: an export (``served``: a ``clients`` completer running the
    settings baked into it) or a model loaded here (``model``), with the ``settings`` that run
    and the ``image_size`` S."""

    served: object
    model: trained.Model | None
    settings: SearchSettings
    image_size: int

    @property
    def celeba_framing(self) -> str:
        """What --crop=auto cuts from CelebA frames: the model's training framing ("celeba"
        for an export, which does not record it)."""
        if self.model is None:
            return "celeba"
        return crops.celeba_framing(self.model.config.crop, self.model.config.align_framing)


def run(config: CompleteConfig, verbose: int = 1) -> dict:
    """Completes the configured images and writes everything to ``config.output_dir``.

    The model is a run or packaged model (completed here, with every option), or an exported
    SavedModel folder or a TF Serving endpoint (``config.server``), which run the completion
    baked in at export: there only the steps (when the export's method leaves them free) and
    the seed travel with a request, and a search flag the user gave that contradicts the baked
    settings is refused by name.

    Returns:
        The ``metrics.json`` contents; its ``settings`` are the ones that ran.
    """
    config = config.validate()
    files.check_writable_dir(config.output_dir, "output_dir")
    completer = open_completer(config)
    settings = completer.settings
    log.info("--method=%s: %d steps, learning rate %g (%s), start %s, patience %d, "
             "%d tuning steps", settings.method, settings.steps, settings.learning_rate,
             settings.schedule, settings.start, settings.patience, settings.tune_steps)
    if config.align:
        return _run_aligned(config, completer.model, settings)
    originals, names = load_inputs(config, completer.image_size, completer.celeba_framing)
    masks = make_masks(config, names, completer.image_size, completer.celeba_framing)
    if not _uses_lowres(config):
        _report_trivial_masks(names, masks)
    os.makedirs(config.output_dir, exist_ok=True)
    start = time.perf_counter()
    completed, generated, per_image_extra, frames = _complete(completer, originals, masks,
                                                              config, verbose)
    seconds = (time.perf_counter() - start) / len(names)
    pictures = _write_pictures(config.output_dir, names, originals, masks, generated,
                               completed, frames)
    per_image = image_metrics.completion_metrics(image_utils.to_float(pictures["completed"]),
                                                 image_utils.to_float(originals), masks)
    per_image.update(per_image_extra)
    report = _report(config, completer, names, per_image, seconds)
    _write_report(config.output_dir, report)
    return report


def open_completer(config: CompleteConfig) -> Completer:
    """The export (``--server``, or a SavedModel ``--model``) or the model (a run or packaged
    model) that completes, with the settings that run on it.

    Raises:
        ValueError: naming the flag at fault: an option the served graph does not have, a
            search flag that contradicts an export's baked settings, a model that is none.
    """
    served = None
    if config.server:
        served = clients.RestCompleter(config.server)
    elif specs.resolve(config.model, config.runs_dir)[0] == specs.SAVED_MODEL:
        served = clients.SavedModelCompleter(config.model)
    if config.align and served is not None:
        raise ValueError("--align completes with a run or packaged model (its face template); "
                         "not with an export or --server")
    if served is not None:
        _check_servable(config)
        return Completer(served, None, served_settings(config, served.settings),
                         served.image_size)
    model = loading.load(config.model, config.runs_dir)
    return Completer(None, model, local_settings(config, model), model.config.image_size)


def local_settings(config: CompleteConfig, model: trained.Model) -> SearchSettings:
    """The settings that run on a model loaded here: ``config.search`` as it runs on the model's
    prior, with the lowres block side of --mask=lowres.

    Raises:
        ValueError: when the settings start from an encoder and the model has none.
    """
    settings = config.search.for_model(model.config.latent_prior)
    if _uses_lowres(config):
        settings = dataclasses.replace(settings, lowres_factor=config.lowres_factor)
    if settings.start == "encoder" and model.encoder is None:
        raise ValueError(f"--method={settings.method} (--start=encoder) needs an encoder, "
                         f"and the model {model.source} has none: train one with "
                         f"python train.py --encoder --run_dir=<the run>")
    return settings


def _complete(completer: Completer, originals, masks, config: CompleteConfig, verbose: int):
    """Completed and generated float [N, S, S, 3], per-image extras for the report (realness
    and rounds, when completed here) and the optimisation GIF's frames per batch."""
    if completer.served is not None:
        completed, generated = _complete_served(completer.served, originals, masks, config,
                                                completer.settings.steps, verbose)
        return completed, generated, {}, []
    return _complete_locally(completer.model, originals, masks, config, completer.settings,
                             verbose)


def _write_pictures(output_dir: str, names: list[str], originals, masks, generated, completed,
                    frames: list) -> dict:
    """Writes each image's masked, generated and completed PNGs, ``grid.png`` and (with
    frames) ``optimisation.gif``; returns those pictures uint8 [N, S, S, 3] by kind."""
    targets = image_utils.to_float(originals)
    outputs = {"masked": image_utils.to_uint8(targets * masks),  # the hole shows mid-grey
               "generated": image_utils.to_uint8(generated),
               "completed": image_utils.to_uint8(completed)}
    for index, name in enumerate(names):
        stem = os.path.splitext(os.path.basename(name))[0]
        for kind, pictures in outputs.items():
            image_utils.save_png(os.path.join(output_dir, f"{stem}_{kind}.png"),
                                 pictures[index])
    rows = np.stack([originals, outputs["masked"], outputs["generated"], outputs["completed"]], 1)
    image_utils.save_png(os.path.join(output_dir, "grid.png"),
                         image_utils.make_grid(rows.reshape((-1,) + rows.shape[2:]), columns=4))
    if frames:
        _write_optimisation_gif(os.path.join(output_dir, "optimisation.gif"), frames)
    return outputs


def _report(config: CompleteConfig, completer: Completer, names: list[str], per_image: dict,
            seconds: float) -> dict:
    """The ``metrics.json`` contents: the settings, per-image figures and their means."""
    summary = {key: float(np.nanmean(values)) for key, values in per_image.items()}
    summary["seconds_per_image"] = seconds
    return {"settings": dataclasses.asdict(completer.settings), "seed": config.seed,
            "model": config.server or (completer.model.source if completer.model
                                       else config.model),
            "summary": summary,
            "images": [{"name": name, **{k: v[i] for k, v in per_image.items()}}
                       for i, name in enumerate(names)]}


def _run_aligned(config: CompleteConfig, model: trained.Model,
                 settings: SearchSettings) -> dict:
    """``--align``: every photo at its own size; faces detected, aligned to the model's
    framing, completed where the hole meets them and blended back. Writes, per photo,
    ``<name>_completed.png`` at the photo's size and ``<name>_face<k>_masked.png`` /
    ``_completed.png`` (the aligned views), and ``metrics.json`` (which share of each photo's
    hole each face's model and the classical fill filled; hole PSNR at the photo's resolution
    against the original, which is ground truth when the hole was made by --mask). A photo
    without a face, or a hole that meets none, is filled from its surroundings, with a note.

    Raises:
        ValueError: when no photo could be completed (each failure names its file).
    """
    paths = listing.expand_image_paths(list(config.images))
    mask_files = (mask_lib.mask_paths(config.mask_dir, paths) if config.mask_dir
                  else [config.mask_file] * len(paths) if config.mask_file else None)
    os.makedirs(config.output_dir, exist_ok=True)
    images, failures = [], []
    start = time.perf_counter()
    for index, path in enumerate(paths):
        try:
            photo = decode.read_rgb(path)
            masks = _photo_masks(config, photo, mask_files[index] if mask_files else None,
                                 model.config.image_size, seed=config.seed + index)
            completer = photo_lib.search_completer(model, settings, seed=config.seed + index)
            detections = detect.detect_faces(photo, config.min_confidence)
            result = photo_lib.complete_photo(completer, photo, detections=detections, **masks)
        except (align.AlignmentError, decode.UnreadableImage, ValueError) as error:
            log.error("%s: %s", path, error)
            failures.append(f"{path}: {error}")
            continue
        if result.note:
            log.warning("%s: %s", path, result.note)
        _write_photo_pictures(config.output_dir, path, result)
        images.append(_photo_scores(path, photo, result))
    if not images:
        raise ValueError("no photo could be completed: " + "; ".join(failures))
    summary = {key: float(np.nanmean([image[key] for image in images]))
               for key in ("hole_psnr", "hole_ssim", "psnr", "l1")}
    summary["seconds_per_image"] = (time.perf_counter() - start) / len(paths)
    report = {"settings": dataclasses.asdict(settings), "seed": config.seed, "align": True,
              "model": model.source, "summary": summary, "images": images,
              "failures": failures}
    _write_report(config.output_dir, report)
    return report


def _write_photo_pictures(output_dir: str, path: str, result: photo_lib.PhotoCompletion) -> None:
    """``<name>_completed.png`` at the photo's size, and each completed face's aligned views
    ``<name>_face<k>_masked.png`` (the hole mid-grey) and ``<name>_face<k>_completed.png``."""
    stem = os.path.splitext(os.path.basename(path))[0]
    image_utils.save_png(os.path.join(output_dir, f"{stem}_completed.png"), result.completed)
    for number, face in enumerate(result.faces):
        shown = np.where(face.crop_mask[..., np.newaxis] > 0.5, face.crop, 128).astype(np.uint8)
        for kind, picture in (("masked", shown), ("completed", face.completed)):
            image_utils.save_png(os.path.join(output_dir, f"{stem}_face{number}_{kind}.png"),
                                 picture)


def _photo_scores(path: str, photo: np.ndarray, result: photo_lib.PhotoCompletion) -> dict:
    """One photo's entry of ``metrics.json``: its faces, the detections not used (box,
    confidence, reason), size, the share of the hole each face's model and the classical fill
    filled (``hole_sources``: {"faces": [share per face], "classical": share}), the note, and
    the completion figures at the photo's resolution."""
    scores = image_metrics.completion_metrics(
        image_utils.to_float(result.completed)[np.newaxis],
        image_utils.to_float(photo)[np.newaxis], result.mask[np.newaxis, ..., np.newaxis])
    return {"name": path, "faces": len(result.faces),
            "rejected": [rejected.as_dict() for rejected in result.rejected],
            "size": list(photo.shape[:2]),
            "hole_sources": {"faces": result.face_shares,
                             "classical": result.classical_share},
            "note": result.note,
            **{key: float(values[0]) for key, values in scores.items()}}


def _photo_masks(config: CompleteConfig, photo: np.ndarray, mask_file: str | None,
                 size: int, seed: int) -> dict:
    """The mask of one photo for ``photo_lib.complete_photo``: a mask file drawn on the photo (same
    size), else --mask made in the model's framing of every face."""
    if mask_file:
        mask = mask_lib.read_mask(mask_file, config.invert_mask)
        if mask.shape != photo.shape[:2]:
            raise ValueError(f"the mask {mask_file} is {mask.shape[1]}x{mask.shape[0]}, the "
                             f"photo {photo.shape[1]}x{photo.shape[0]}: with --align, masks "
                             f"are drawn on the photo, at its size")
        return {"mask": mask}
    return {"crop_mask": _kind_masks(config, 1, size, seed)[0, ..., 0]}


def served_settings(config: CompleteConfig, baked: SearchSettings) -> SearchSettings:
    """The settings a served completion runs: the ones baked in at export, with the steps the
    user gave when the export's method leaves them free (``complete_with_options``).

    Raises:
        ValueError: naming every search flag the user gave (``config.search_flags``) that
            contradicts the baked settings.
    """
    given = config.search
    where = f"--server {config.server}" if config.server else f"the export {config.model}"
    contradicting = [f"--{name}={getattr(given, name)} (it has {getattr(baked, name)})"
                     for name in config.search_flags
                     if name != "steps" and getattr(given, name) != getattr(baked, name)]
    if "steps" in config.search_flags and "steps" in PRESETS[baked.method]:
        contradicting.append(f"--steps={given.steps} (its method {baked.method} sets "
                             f"{baked.steps})")
    if contradicting:
        raise ValueError(f"{where} runs the completion settings baked in at export, and "
                         f"{', '.join(contradicting)} contradict them: leave those flags out, "
                         f"or export again with the settings you want (export.py)")
    steps = given.steps if "steps" in config.search_flags else baked.steps
    return dataclasses.replace(baked, steps=steps)


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


def _check_servable(config: CompleteConfig) -> None:
    """Refuses options that the served graph does not have."""
    where = "--server" if config.server else "an exported --model"
    if _uses_lowres(config):
        raise ValueError(f"--mask=lowres is not available with {where}; use a run folder")
    if config.gif_every:
        raise ValueError(f"--gif_every is not available with {where}")


def _uses_lowres(config: CompleteConfig) -> bool:
    """Whether the masks are lowres ones (block means known), not masks read from files."""
    return mask_lib.is_lowres(config.mask) and not (config.mask_file or config.mask_dir)


def _complete_served(completer, originals, masks, config: CompleteConfig, steps: int,
                     verbose: int):
    """Completes batch by batch through a served model, sending ``steps`` (the served
    settings'); float [-1, 1] completed, generated."""
    completed, generated = np.zeros(originals.shape, np.uint8), np.zeros(originals.shape, np.uint8)
    batches = range(0, len(originals), config.batch_size)
    bar = keras.utils.Progbar(len(batches), verbose=verbose, unit_name="batch")
    for batch_index, first in enumerate(batches):
        part = np.s_[first:first + config.batch_size]
        outputs = completer(originals[part], masks[part], steps, config.seed + first)
        completed[part], generated[part] = outputs["completed"], outputs["generated"]
        bar.update(batch_index + 1)
    return image_utils.to_float(completed), image_utils.to_float(generated)


def _complete_locally(model: trained.Model, originals, masks, config: CompleteConfig,
                      settings: SearchSettings, verbose: int):
    """Completes batch by batch with restored networks, with loss curves in TensorBoard.

    Returns completed and generated float [N, S, S, 3], per-image realness and rounds, and the
    optimisation GIF's frames per batch.
    """
    writer = tf.summary.create_file_writer(os.path.join(config.output_dir, "logs"))
    targets = image_utils.to_float(originals)
    completed, generated = np.zeros_like(targets), np.zeros_like(targets)
    realness, rounds = np.zeros([len(targets)]), np.zeros([len(targets)], np.int32)
    frames = []  # per batch: [F, n, S, S, 3]
    batches = range(0, len(targets), config.batch_size)
    steps_per_batch = settings.reported_steps()
    bar = keras.utils.Progbar(len(batches) * steps_per_batch, verbose=verbose,
                              stateful_metrics=["loss"])
    for batch_index, first in enumerate(batches):
        part = np.s_[first:first + config.batch_size]
        done = batch_index * steps_per_batch

        def progress(step, loss, done=done, batch_index=batch_index):
            bar.update(done + step, [("loss", loss)])
            with writer.as_default(step=step):
                tf.summary.scalar(f"loss/batch_{batch_index}", loss)

        result = search.complete(model.generator, model.discriminator, targets[part],
                                 masks[part], settings, seed=config.seed + first,
                                 encoder=model.encoder, snapshot_every=config.gif_every,
                                 progress=progress)
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


def _write_report(output_dir: str, report: dict) -> None:
    """Writes ``metrics.json`` atomically."""
    files.atomic_write_text(os.path.join(output_dir, "metrics.json"),
                            json.dumps(report, indent=2, default=str) + "\n")
