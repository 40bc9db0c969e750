"""tools/package_model.py: a run packaged with its face template, the run's own or the one
measured for its training crop of CelebA, so its model completes photos."""

import dataclasses
import json
import shutil
import sys

from conftest import load_script
from dcgan_tf import pretrained
from dcgan_tf.models import runs
from dcgan_tf.photo import align

def _tool():
    return load_script("tools", "package_model.py")


def test_a_celeba_face_run_is_packaged_with_its_crop_s_template(tiny_run_128, tmp_path,
                                                                  monkeypatch, capsys):
    """A run trained on the celeba_face crop without a measured template gets that crop's
    (align.TEMPLATES); a run with no template of either kind is packaged without one, and
    the tool says how to measure it."""
    config, result = tiny_run_128
    run = str(tmp_path / "run")
    shutil.copytree(result.run_dir, run)
    runs.save_config(run, dataclasses.replace(config, face_template=()))
    monkeypatch.setattr(pretrained, "PACKAGE_DIR", str(tmp_path / "pretrained"))
    tool = _tool()
    monkeypatch.setattr(sys, "argv", ["package_model.py", f"--model={run}", "--name=faces128"])
    tool.main()
    with open(tmp_path / "pretrained" / "faces128" / "config.json") as handle:
        packaged = json.load(handle)
    assert tuple(packaged["face_template"]) == align.CELEBA_FACE_TEMPLATE
    assert packaged["image_size"] == 128 and packaged["crop"] == "celeba_face"
    assert "--crop=celeba_face" in capsys.readouterr().out
    assert tool.face_template(dataclasses.replace(config, crop="ffhq", face_template=())) == ()
    assert "tools/measure_template.py" in capsys.readouterr().out
