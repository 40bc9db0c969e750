"""The images a run trains on: loaded once (``pipeline.load_images``, or with ``--crop=align`` the
faces of photos aligned to the run's template), the faces held out for completion previews,
and the ``tf.data`` pipeline of global batches."""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from dcgan_tf.data import pipeline, synthetic
from dcgan_tf.models import runs
from dcgan_tf.models.config import TrainConfig
from dcgan_tf.photo import aligned_faces


@dataclasses.dataclass
class TrainingData:
    """A run's training images uint8 [N, S, S, 3], their ``tf.data`` pipeline of global
    batches, the steps of one epoch, and the faces held out for completion previews uint8
    [K, S, S, 3] (never trained on)."""

    images: np.ndarray
    dataset: tf.data.Dataset
    steps_per_epoch: int
    held_out: np.ndarray


def training_data(config: TrainConfig, images: np.ndarray | None, run_dir: str) -> TrainingData:
    """The run's ``TrainingData``: its images loaded from ``config.data`` unless given (uint8
    [N, S, S, 3]; with --crop=align the detected landmarks are kept in ``<run>/landmarks.npz``),
    less the faces held out for completion previews (``split_held_out``)."""
    if images is None:
        images = load_images(config, config.data, max_images=config.max_images,
                             synthetic_images=config.synthetic_images, seed=config.seed,
                             landmarks_cache=os.path.join(run_dir, runs.LANDMARKS_FILE))
    preview_faces, images = split_held_out(config, images)
    steps_per_epoch = config.steps_per_epoch or max(1, len(images) // config.batch_size)
    dataset = pipeline.training_dataset(images, config.batch_size, seed=config.seed,
                                        flip=config.flip)
    return TrainingData(images, dataset, steps_per_epoch, preview_faces)


def load_images(config: TrainConfig, source: str, *, max_images: int, landmarks_cache: str = "",
                **synthetic) -> np.ndarray:
    """``source``'s images as the run trains on them, uint8 [N, S, S, 3]: cropped by
    ``config.crop`` (``pipeline.load_images``, where ``synthetic`` holds the synthetic faces'
    options), or with --crop=align each photo's face aligned to ``config.face_template``
    (``aligned_faces.load_aligned_faces``, its landmarks kept in ``landmarks_cache``)."""
    if config.crop == "align":
        return aligned_faces.load_aligned_faces(
            source, image_size=config.image_size, face_template=config.face_template,
            max_images=max_images, landmarks_cache=landmarks_cache)
    return pipeline.load_images(source, crop=config.crop, image_size=config.image_size,
                                max_images=max_images, **synthetic)


def split_held_out(config: TrainConfig, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``config.held_out_faces`` faces for the completion previews that the run never trains on
    (uint8 [K, S, S, 3]), and the images it trains on: synthetic data gets faces of another
    stream (``synthetic.HELD_OUT_SEED``); other data gives up its first K images."""
    count = config.held_out_faces
    if config.data == "synthetic":
        return synthetic.faces(count, seed=synthetic.HELD_OUT_SEED,
                               image_size=config.image_size), images
    if len(images) < 2 * count:
        raise ValueError(f"--held_out_faces holds out {count} images for completion previews "
                         f"and {config.data} has only {len(images)}: give more, or "
                         f"--held_out_faces=0")
    return images[:count], images[count:]
