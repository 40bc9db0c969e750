"""Photos made by placing images with similarity transforms: synthetic photos (face crops over a
background, to try photo completion, ``complete.py --align``, and the web app's sample photos
without any real photo) and canvases (an image placed at random, the rest filled by reflecting
it: the benches' faces framed unlike the training crops).

Coordinates are index coordinates (pixel centres at integers), as in ``align``.
"""

import numpy as np

from dcgan_tf.photo.align import resample

SCENE_FEATHER = 4.0  # crop pixels over which a face placed by scene() fades in


def scene(faces_to_place, placements, size=(320, 360), background=None) -> np.ndarray:
    """A synthetic photo: face crops placed by similarity transforms over a smooth background.

    Args:
        faces_to_place: uint8 [N, S, S, 3] face crops (e.g. a model's generated faces).
        placements: N tuples (centre_x, centre_y, angle in degrees, photo pixels per crop
            pixel).
        size: the photo's (height, width).
        background: uint8 [H, W, 3] to draw on; default: smooth colour waves.

    Returns:
        uint8 [H, W, 3]; each face is resampled bilinearly (``align.resample``, edges clamped)
        and fades into the background over the outer ``SCENE_FEATHER`` pixels of its crop (no
        hard, stair-stepped edge).
    """
    height, width = size
    y, x = np.mgrid[0:height, 0:width]
    if background is None:
        background = np.stack([100 + 60 * np.sin(x / 40.0), 90 + 50 * np.cos(y / 30.0),
                               120 + 0 * x], axis=-1)
    photo = np.asarray(background, np.float64).copy().reshape(-1, 3)
    points = np.stack([x.ravel(), y.ravel()], axis=1).astype(np.float64)
    for face, (centre_x, centre_y, angle, scale) in zip(faces_to_place, placements):
        side = face.shape[0]
        theta = np.deg2rad(angle)
        inverse = np.array([[np.cos(theta), np.sin(theta)],
                            [-np.sin(theta), np.cos(theta)]]) / scale
        local = (points - [centre_x, centre_y]) @ inverse.T + (side - 1) / 2
        # Crop pixels to the crop's nearest edge: the face fades in over SCENE_FEATHER of them.
        to_edge = np.min(np.minimum(local + 0.5, side - 0.5 - local), axis=1)
        inside = to_edge > 0
        alpha = np.minimum(to_edge[inside] / SCENE_FEATHER, 1.0)[:, np.newaxis]
        photo_to_crop = np.eye(3)
        photo_to_crop[:2, :2] = inverse
        photo_to_crop[:2, 2] = (side - 1) / 2 - inverse @ [centre_x, centre_y]
        warped = resample(face, photo_to_crop, height, width, "NEAREST").numpy()
        photo[inside] = (alpha * warped.reshape(-1, 3)[inside].astype(np.float64)
                         + (1 - alpha) * photo[inside])
    return np.clip(np.rint(photo), 0, 255).astype(np.uint8).reshape(height, width, 3)


def similarity_transform(angle: float, scale: float, source_point, target_point) -> np.ndarray:
    """The similarity [3, 3] that turns by ``angle`` degrees (clockwise on the screen, y pointing
    down), scales by ``scale`` and carries ``source_point`` (x, y) onto ``target_point``:
    ``target = scale * rotation @ (point - source_point) + target_point``."""
    theta = np.deg2rad(angle)
    rotation = scale * np.array([[np.cos(theta), -np.sin(theta)],
                                 [np.sin(theta), np.cos(theta)]])
    matrix = np.eye(3)
    matrix[:2, :2] = rotation
    matrix[:2, 2] = np.asarray(target_point) - rotation @ np.asarray(source_point)
    return matrix


def reflected_canvas(image: np.ndarray, image_to_canvas: np.ndarray, height: int,
                     width: int) -> np.ndarray:
    """``image`` uint8 [h, w, 3] placed on a ``height`` x ``width`` canvas by ``image_to_canvas``
    [3, 3], resampled bilinearly, the rest of the canvas filled by reflecting the image at its
    edges (``align.resample``'s "REFLECT"): uint8 [height, width, 3]."""
    canvas = resample(image, np.linalg.inv(image_to_canvas), height, width, "REFLECT")
    return np.clip(np.rint(canvas.numpy()), 0, 255).astype(np.uint8)
