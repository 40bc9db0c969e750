"""The training images of ``train.py --crop=align``: faces of photos aligned to a template."""

import dataclasses
import os

import numpy as np
import pytest
from PIL import Image

from conftest import TINY, face_photo
from dcgan_tf.models import runs
from dcgan_tf.photo import align, aligned_faces, completion as photo_lib, detect
from dcgan_tf.serving import loading
from dcgan_tf.training import loop


def test_training_data_of_aligned_photos(celeba64_faces, tmp_path, monkeypatch, caplog):
    """train.py --crop=align: every photo's face aligned to the template, a photo without one
    skipped with a warning, the landmarks cached for the next load; a run records its
    template (that of --align_framing), so its model completes photos with --align."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, face in enumerate(celeba64_faces[:2]):
        Image.fromarray(face_photo(face, angle=10.0 * index)).save(folder / f"{index}.jpg",
                                                                   quality=95)
    Image.fromarray(np.full((80, 90, 3), 70, np.uint8)).save(folder / "wall.png")
    cache = str(tmp_path / "landmarks.npz")
    loaded = aligned_faces.load_aligned_faces(str(folder), image_size=32,
                                              face_template=align.DEFAULT_TEMPLATE,
                                              landmarks_cache=cache)
    assert loaded.shape == (2, 32, 32, 3) and "wall.png (no face found)" in caplog.text
    monkeypatch.setattr(detect, "detect_faces", lambda photo: pytest.fail("detected again"))
    again = aligned_faces.load_aligned_faces(str(folder), image_size=32,
                                             face_template=align.DEFAULT_TEMPLATE,
                                             landmarks_cache=cache)
    np.testing.assert_array_equal(again, loaded)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="--crop=align aligns the faces of photos"):
        aligned_faces.load_aligned_faces("synthetic", image_size=32,
                                         face_template=align.DEFAULT_TEMPLATE)

    config = dataclasses.replace(TINY, data=str(folder), crop="align", batch_size=2,
                                 runs_dir=str(tmp_path / "runs"), steps_per_epoch=1)
    result = loop.run(config, verbose=0)
    assert runs.load_config(result.run_dir).face_template == align.DEFAULT_TEMPLATE
    assert os.path.isfile(os.path.join(result.run_dir, runs.LANDMARKS_FILE))
    assert photo_lib.face_template(loading.load(result.run_dir)).shape == (5, 2)
    # Another framing (here on resuming): the run aligns its faces to, and records, its template.
    whole_face = dataclasses.replace(config, align_framing="celeba_face", epochs=2)
    loop.run(whole_face, run_dir=result.run_dir, verbose=0)
    assert runs.load_config(result.run_dir).face_template == align.CELEBA_FACE_TEMPLATE
