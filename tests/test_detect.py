"""Face detection: a photo longer than the detection side is searched shrunk."""

import numpy as np

from dcgan_tf.photo import align, completion as photo_lib, detect, scenes


def test_a_large_photo_is_searched_shrunk_and_its_faces_land_on_the_photo(celeba64_faces,
                                                                          monkeypatch):
    """A photo longer than the detection side is searched in a shrunk copy; the faces found
    there come back in the photo's coordinates, where a full-resolution search puts them."""
    photo = scenes.scene(celeba64_faces[:2], [(330, 400, 10.0, 6.0), (820, 300, -5.0, 2.0)],
                         (760, 1000))
    full = detect.detect_faces(photo, max_side=1000)
    searched_shapes = []
    detector = detect._detector()
    monkeypatch.setattr(detect, "_detector", lambda: type("Recorder", (), {
        "detect_faces": lambda self, image, **options: (
            searched_shapes.append(image.shape), detector.detect_faces(image, **options))[1]})())
    shrunk = detect.detect_faces(photo, max_side=500)  # halved, as a 12 MP photo is by default
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
