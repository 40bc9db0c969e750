"""Synthetic photos: a face placed by a similarity transform, feathered into the background;
the similarity itself, and canvases filled by reflecting the image placed."""

import numpy as np

from dcgan_tf.data import synthetic
from dcgan_tf.photo import scenes


def test_an_unscaled_face_lands_exactly_and_fades_at_its_edge():
    """At scale 1 and no rotation, on whole pixels, the face's inner pixels are copied exactly
    and its outer ``SCENE_FEATHER`` pixels blend with the background, which is untouched
    outside the crop."""
    face = synthetic.faces(1, seed=2, image_size=64)[0]
    empty = scenes.scene([], [], (200, 240))
    photo = scenes.scene([face], [(100 + 31.5, 80 + 31.5, 0.0, 1.0)], (200, 240))
    np.testing.assert_array_equal(photo[84:140, 104:160], face[4:60, 4:60])
    outside = np.ones(photo.shape[:2], bool)
    outside[80:144, 100:164] = False
    np.testing.assert_array_equal(photo[outside], empty[outside])
    edge, inner = photo[80, 100:164].astype(int), face[0].astype(int)
    background = empty[80, 100:164].astype(int)
    blended = np.abs(edge - background) <= np.abs(inner - background)
    assert blended.all() and (edge != inner).any()


def test_a_rotated_enlarged_face_covers_its_footprint():
    face = synthetic.faces(1, seed=2, image_size=64)[0]
    photo = scenes.scene([face], [(160, 150, 20.0, 2.0)], (300, 320))
    empty = scenes.scene([], [], (300, 320))
    changed = (photo != empty).any(axis=-1)
    # A 64-pixel crop at 2 photo pixels a crop pixel covers about 128 x 128 photo pixels.
    assert 0.8 * 128 ** 2 < changed.sum() < 1.1 * 128 ** 2
    assert changed[150, 160] and not changed[10, 10]


def test_similarity_transform_carries_the_source_point_turned_and_scaled():
    matrix = scenes.similarity_transform(30.0, 2.0, (10, 20), (100, 50))
    np.testing.assert_allclose(matrix[:2, :2] @ [10, 20] + matrix[:2, 2], [100, 50])
    # One pixel right of the source: 2 pixels away, turned 30 degrees clockwise on the screen.
    theta = np.deg2rad(30.0)
    np.testing.assert_allclose(matrix[:2, :2] @ [11, 20] + matrix[:2, 2],
                               [100 + 2 * np.cos(theta), 50 + 2 * np.sin(theta)])
    np.testing.assert_array_equal(matrix[2], [0, 0, 1])


def test_a_reflected_canvas_holds_the_image_and_mirrors_it_beyond_its_edges():
    image = synthetic.faces(1, seed=2, image_size=32)[0]
    canvas = scenes.reflected_canvas(image, scenes.similarity_transform(0, 1, (0, 0), (10, 20)),
                                     80, 60)
    assert canvas.shape == (80, 60, 3) and canvas.dtype == np.uint8
    np.testing.assert_array_equal(canvas[20:52, 10:42], image)
    np.testing.assert_array_equal(canvas[20:52, 42:52], image[:, ::-1][:, :10])  # d c b a
    np.testing.assert_array_equal(canvas[10:20, 10:42], image[:10][::-1])
