"""Alignment geometry: the similarity fit, the landmark template round trip, and crops and masks
sampled from the box around a face matching the whole photo."""

import numpy as np

from conftest import face_photo
from dcgan_tf.data import crops, synthetic
from dcgan_tf.photo import align, completion as photo_lib, detect


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


def test_the_templates_of_celeba_s_crops_put_the_landmarks_on_the_same_pixels():
    """The framings of --align_framing each have a template, and the two, measured apart on
    CelebA's training faces, put the landmarks on the same pixels of CelebA's 178x218 frame
    (within 0.1 px): the celeba_face template fits its crop's geometry."""
    assert sorted(align.TEMPLATES) == sorted(crops.ALIGN_FRAMINGS)
    in_frame = {}
    for crop, template in align.TEMPLATES.items():
        top, left, side, _ = (int(v) for v in crops.region_box(*crops.CELEBA_SIZE, crop))
        in_frame[crop] = np.reshape(template, (5, 2)) * side + [left, top]
    np.testing.assert_allclose(in_frame["celeba"], in_frame["celeba_face"], atol=0.1)


def test_a_square_alignment_maps_the_square_onto_the_crop_as_a_resize_does():
    """The outer edges of the square (its corner pixels' far sides) land on the crop's, and
    the crop it cuts is the crop preset's."""
    alignment = align.square_alignment(17, 50, 144, 128)
    edges = np.array([[17 - 0.5, 50 - 0.5], [17 + 144 - 0.5, 50 + 144 - 0.5]])
    np.testing.assert_allclose(alignment.to_crop(edges), [[-0.5, -0.5], [127.5, 127.5]])
    frame = synthetic.faces(1, seed=2, image_size=218)[0, :, 20:198]  # framed as CelebA's
    cut, coverage = align.warp_to_crop(frame, alignment)
    preset = crops.crop_and_resize(frame, "celeba_face", 128).numpy()
    assert coverage.min() == 1
    assert np.abs(cut.astype(int) - preset).mean() < 2


def test_template_round_trip(celeba64, celeba64_faces):
    """A face placed rotated and enlarged in a photo, aligned, is detected again in its crop
    with the landmarks on the template (within 2 px at 64x64)."""
    template = photo_lib.face_template(celeba64)
    photo = face_photo(celeba64_faces[0], angle=20.0, scale=2.5)
    detected = detect.detect_faces(photo).faces
    assert len(detected) == 1
    alignment = align.align(detected[0], template, 64)
    crop, coverage = align.warp_to_crop(photo, alignment)
    assert coverage.min() == 1.0
    canvas = np.full((128, 128, 3), 128, np.uint8)
    canvas[32:96, 32:96] = crop
    again = detect.detect_faces(canvas).faces
    assert again, "the aligned face was not found again"
    found = again[0].landmarks - 32
    # Every landmark lands where the warp carried it (within 2 px), and the five sit on the
    # template as closely as a similarity allows this face's own proportions (2 px on average).
    carried = alignment.to_crop(detected[0].landmarks)
    assert np.abs(found - carried).max() <= 2.0, found - carried
    distance = np.linalg.norm(found - (template * 64 - 0.5), axis=1)
    assert distance.mean() <= 2.0, distance


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
