"""Face alignment: the similarity fit, the landmark template round trip, warps there and back,
paste-back that keeps every known pixel, and the errors (no face, tiny face, hole off the face).

Faces are the shipped model's own generated faces, enlarged and placed in synthetic scenes by
known similarity transforms (no data set image is needed)."""

import os

import numpy as np
import pytest
from PIL import Image

from dcgan_tf import align, images as image_utils, loading, photo as photo_lib
from dcgan_tf.data import synthetic
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.models import sampling

FACE_SEED = 4_000_037


@pytest.fixture(scope="module")
def model():
    return loading.load("celeba64")


@pytest.fixture(scope="module")
def faces(model):
    """Generated faces uint8 [4, 64, 64, 3]; the first ones MTCNN finds most surely."""
    return sampling.sample_images(model.generator, 4, FACE_SEED, model.config.latent_prior)


def scene(face: np.ndarray, *, size=(320, 360), angle=12.0, scale=2.5, centre=(180, 160),
          background=None) -> np.ndarray:
    """A photo [H, W, 3] with ``face`` placed rotated by ``angle`` degrees, ``scale`` photo
    pixels per face pixel, around ``centre`` (x, y)."""
    return synthetic.scene([face], [(*centre, angle, scale)], size, background)


def test_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 100, (5, 2))
    theta, scale, shift = 0.4, 1.7, np.array([12.0, -3.0])
    rotation = scale * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    matrix = align.similarity(source, source @ rotation.T + shift)
    np.testing.assert_allclose(matrix[:2, :2], rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:2, 2], shift, atol=1e-9)
    mirrored = source * [-1, 1]  # a reflection is not a similarity: the fit stays a rotation
    assert np.linalg.det(align.similarity(source, mirrored)[:2, :2]) > 0


def test_the_shipped_model_has_a_measured_template(model):
    template = photo_lib.face_template(model)
    assert template.shape == (5, 2) and np.all((template > 0.1) & (template < 0.95))
    left_eye, right_eye, nose, mouth_left, mouth_right = template
    assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert left_eye[1] < nose[1] < mouth_left[1]


def test_template_round_trip(model, faces):
    """A face placed rotated and enlarged in a photo, aligned, is detected again in its crop
    with the landmarks on the template (within 2 px at 64x64)."""
    template = photo_lib.face_template(model)
    photo = scene(faces[0], angle=20.0, scale=2.5)
    detected = align.detect_faces(photo)
    assert len(detected) == 1
    alignment = align.align(detected[0], template, 64)
    crop, coverage = align.warp_to_crop(photo, alignment)
    assert coverage.min() == 1.0
    canvas = np.full((128, 128, 3), 128, np.uint8)
    canvas[32:96, 32:96] = crop
    again = align.detect_faces(canvas)
    assert again, "the aligned face was not found again"
    found = again[0].landmarks - 32
    # Every landmark lands where the warp carried it (within 2 px), and the five sit on the
    # template as closely as a similarity allows this face's own proportions (2 px on average).
    carried = alignment.to_crop(detected[0].landmarks)
    assert np.abs(found - carried).max() <= 2.0, found - carried
    distance = np.linalg.norm(found - (template * 64 - 0.5), axis=1)
    assert distance.mean() <= 2.0, distance


def test_a_large_photo_is_searched_shrunk_and_its_faces_land_on_the_photo(faces, monkeypatch):
    """A photo longer than the detection side is searched in a shrunk copy; the faces found
    there come back in the photo's coordinates, where a full-resolution search puts them."""
    photo = synthetic.scene(faces[:2], [(330, 400, 10.0, 6.0), (820, 300, -5.0, 2.0)],
                            (760, 1000))
    full = align.detect_faces(photo, max_side=1000)
    searched_shapes = []
    detector = align._detector()
    monkeypatch.setattr(align, "_detector", lambda: type("Recorder", (), {
        "detect_faces": lambda self, image, **options: (
            searched_shapes.append(image.shape), detector.detect_faces(image, **options))[1]})())
    shrunk = align.detect_faces(photo, max_side=500)  # halved, as a 12 MP photo is by default
    assert searched_shapes == [(380, 500, 3)]
    assert len(shrunk) == len(full) == 2
    template = photo_lib.template_of(align.DEFAULT_TEMPLATE, "the default template")
    for coarse, fine in zip(sorted(shrunk, key=lambda face: face.box[0]),
                            sorted(full, key=lambda face: face.box[0])):
        # The two alignments put the landmarks within 1.5 px of each other in a 64x64 crop
        # (MTCNN's own landmarks move by about 1 px as a face changes size).
        moved = (align.align(coarse, template, 64).to_crop(fine.landmarks)
                 - align.align(fine, template, 64).to_crop(fine.landmarks))
        assert np.abs(moved).max() <= 1.5, moved
        np.testing.assert_allclose(coarse.box, fine.box, atol=0.1 * fine.box[2])


def test_warp_there_and_back_reproduces_a_smooth_image():
    """Crop by a similarity, then sample the crop back at the photo's pixels: inside the crop
    a smooth image comes back within 2 uint8 levels."""
    y, x = np.mgrid[0:200, 0:260]
    smooth = np.stack([120 + 60 * np.sin(x / 80.0), 110 + 50 * np.cos(y / 70.0),
                       60 + 0.4 * x], axis=-1)
    photo = np.clip(np.rint(smooth), 0, 255).astype(np.uint8)
    face = align.Face(np.array([[100.0, 90], [140, 95], [120, 115], [104, 135], [136, 138]]),
                      (80, 60, 80, 100), 1.0)
    template = np.array([[0.35, 0.45], [0.65, 0.45], [0.5, 0.6], [0.37, 0.75], [0.63, 0.75]])
    alignment = align.align(face, template, 64)
    crop, _ = align.warp_to_crop(photo, alignment)
    mask = np.zeros(photo.shape[:2], np.float32)  # everything is hole: paste the crop back
    back = align.paste_back(photo, mask, image_utils.to_float(crop), alignment)
    inside = align.footprint(alignment, mask.shape) > 0.5
    margin = np.zeros_like(inside)
    margin[3:-3, 3:-3] = inside[3:-3, 3:-3] & inside[:-6, 3:-3] & inside[6:, 3:-3] & \
        inside[3:-3, :-6] & inside[3:-3, 6:]
    difference = np.abs(back.astype(int) - photo.astype(int))[margin]
    assert margin.sum() > 2000 and difference.max() <= 2


def test_crops_and_masks_from_the_box_around_the_face_match_the_whole_photo():
    """warp_to_crop, mask_to_crop and footprint sample only the photo box around the face's
    crop (a 64 MP photo is 768 MB as float32): they give what resampling the whole photo gives,
    for crops at the photo's edge, over it, and larger or smaller than the face."""
    rng = np.random.default_rng(5)
    photo = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    mask = rng.random((90, 120)) > 0.3  # bool, True = known
    for centre, scale, angle in (((60, 45), 2.0, 0.3), ((5, 80), 1.3, -0.2),
                                 ((118, 3), 0.5, 0.1), ((60, 45), 0.25, 0.0)):
        matrix = np.eye(3)
        matrix[:2, :2] = scale * np.array([[np.cos(angle), -np.sin(angle)],
                                           [np.sin(angle), np.cos(angle)]])
        matrix[:2, 2] = 31.5 - matrix[:2, :2] @ np.array(centre, float)
        alignment = align.Alignment(matrix, 64)
        inverse = np.linalg.inv(matrix)
        whole_mask = align.resample(mask.astype(np.float32)[..., None], inverse, 64, 64,
                                    "CONSTANT", interpolation="NEAREST").numpy()[..., 0] > 0.5
        np.testing.assert_array_equal(align.mask_to_crop(mask, alignment), whole_mask)
        covered = align.resample(np.ones((64, 64, 1), np.float32), matrix, 90, 120, "CONSTANT",
                                 interpolation="NEAREST").numpy()[..., 0] >= 0.5
        np.testing.assert_array_equal(align.footprint(alignment, mask.shape), covered)
        crop, coverage = align.warp_to_crop(photo, alignment)
        if scale >= 1:  # the crop is sampled from the photo itself, not a shrunk copy
            whole = np.rint(align.resample(photo, inverse, 64, 64, "NEAREST").numpy())
            # A box's shifted transform rounds differently in float32: a level at most.
            assert np.abs(crop - whole.astype(int)).max() <= 1
            whole_coverage = align.resample(np.ones((90, 120, 1)), inverse, 64, 64,
                                            "CONSTANT").numpy()[..., 0] > 0.5
            np.testing.assert_array_equal(coverage, whole_coverage)


def test_empty_hole_gives_the_photo_back_and_a_hole_changes_only_itself(model, faces):
    photo = scene(faces[1])
    completer = photo_lib.local(model, SearchSettings(steps=5).for_model(
        model.config.latent_prior))
    unchanged = photo_lib.complete_photo(completer, photo, mask=np.ones(photo.shape[:2]))
    np.testing.assert_array_equal(unchanged.completed, photo)
    corner = np.ones(photo.shape[:2], np.float32)
    corner[:20, :20] = 0  # a hole in the background, away from the face
    with pytest.raises(align.AlignmentError, match="the hole meets no face"):
        photo_lib.complete_photo(completer, photo, mask=corner)
    mask = np.ones(photo.shape[:2], np.float32)
    mask[140:180, 150:210] = 0  # over the face's centre
    result = photo_lib.complete_photo(completer, photo, mask=mask)
    known = mask == 1
    np.testing.assert_array_equal(result.completed[known], photo[known])
    assert np.abs(result.completed[~known].astype(int) - photo[~known]).mean() > 1
    assert len(result.faces) == 1 and result.uncovered == 0.0
    assert result.faces[0].crop.shape == (64, 64, 3)


def test_a_mask_in_the_crop_is_made_on_every_face(model, faces):
    """Two faces, --mask=center style: both get a hole and both are completed."""
    photo = synthetic.scene(faces[:2], [(120, 120, -8, 2.0), (360, 120, 10, 2.0)], (240, 480))
    crop_mask = np.ones([64, 64], np.float32)
    crop_mask[24:40, 24:40] = 0
    completer = photo_lib.local(model, SearchSettings(steps=3).for_model(
        model.config.latent_prior))
    result = photo_lib.complete_photo(completer, photo, crop_mask=crop_mask)
    assert len(result.faces) == 2
    hole = result.mask < 0.5
    assert hole[:, :240].any() and hole[:, 240:].any()
    np.testing.assert_array_equal(result.completed[~hole], photo[~hole])


def test_no_face_and_a_tiny_face_are_named(model, faces):
    completer = photo_lib.local(model, SearchSettings(steps=2).for_model(
        model.config.latent_prior))
    y, x = np.mgrid[0:120, 0:160]
    plain = np.stack([x, y, x + y], axis=-1).astype(np.uint8)
    hole = np.ones(plain.shape[:2], np.float32)
    hole[40:80, 60:100] = 0
    with pytest.raises(align.AlignmentError, match="no face found"):
        photo_lib.complete_photo(completer, plain, mask=hole)
    tiny = align.Face(np.array([[10.0, 10], [14, 10], [12, 12], [10, 14], [14, 14]]),
                      (8, 8, 8, 8), 0.99)
    with pytest.raises(align.AlignmentError, match="eyes are 4.0 px apart, the minimum is 8 px"):
        photo_lib.complete_photo(completer, plain, mask=hole, faces=[tiny])


def test_training_data_of_aligned_photos(model, faces, tmp_path, monkeypatch, caplog):
    """train.py --crop=align: every photo's face aligned to the template, a photo without one
    skipped with a warning, the landmarks cached for the next load; a run records its
    template, so its model completes photos with --align."""
    import dataclasses
    from conftest import TINY
    from dcgan_tf import train_lib
    from dcgan_tf.models import runs
    from dcgan_tf.data import pipeline
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, face in enumerate(faces[:2]):
        Image.fromarray(scene(face, angle=10.0 * index)).save(folder / f"{index}.jpg",
                                                                  quality=95)
    Image.fromarray(np.full((80, 90, 3), 70, np.uint8)).save(folder / "wall.png")
    cache = str(tmp_path / "landmarks.npz")
    loaded = pipeline.load_images(str(folder), crop="align", image_size=32,
                                  face_template=align.DEFAULT_TEMPLATE, landmarks_cache=cache)
    assert loaded.shape == (2, 32, 32, 3) and "wall.png (no face found)" in caplog.text
    monkeypatch.setattr(align, "detect_faces", lambda photo: pytest.fail("detected again"))
    again = pipeline.load_images(str(folder), crop="align", image_size=32,
                                 face_template=align.DEFAULT_TEMPLATE, landmarks_cache=cache)
    np.testing.assert_array_equal(again, loaded)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="--crop=align aligns the faces of photos"):
        pipeline.load_images("synthetic", crop="align")

    config = dataclasses.replace(TINY, data=str(folder), crop="align", batch_size=2,
                                 runs_dir=str(tmp_path / "runs"), steps_per_epoch=1)
    result = train_lib.run(config, verbose=0)
    assert runs.load_config(result.run_dir).face_template == align.DEFAULT_TEMPLATE
    assert os.path.isfile(os.path.join(result.run_dir, runs.LANDMARKS_FILE))
    assert photo_lib.face_template(loading.load(result.run_dir)).shape == (5, 2)
