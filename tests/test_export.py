"""export: TF Serving layout, versions, atomicity, and every signature run from a fresh process
that cannot import dcgan_tf, through both SavedModel loaders, against the in-process results."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO_ROOT
from dcgan_tf import images as image_utils
from dcgan_tf.inpainting import masks as mask_lib, search
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.models import encoder as encoder_lib, sampling
from dcgan_tf.serving import clients, export, loading

STEPS = 4  # baked into the tiny export's complete signature
# The search, then G tuned to each image (tuning runs in the served graph too).
SETTINGS = SearchSettings(steps=STEPS, restarts=2, tune_steps=2)

# Runs in a fresh interpreter with dcgan_tf made unimportable, like TF Serving's C++ server,
# which only has the SavedModel. Loads it with tf.saved_model.load and with the v1 session
# loader (signatures run by tensor names, as SavedModelBundle does) and prints the outputs.
_FRESH_PROCESS = r"""
import importlib.abc, json, sys
import numpy as np

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "dcgan_tf":
            raise ImportError("dcgan_tf is not available here")

sys.meta_path.insert(0, Block())
try:
    import dcgan_tf  # noqa: F401
    sys.exit("dcgan_tf was importable")
except ImportError:
    pass
import tensorflow as tf

export_dir, inputs_path = sys.argv[1], sys.argv[2]
inputs = {name: {key: np.asarray(value, dtype) for key, (value, dtype) in request.items()}
          for name, request in json.load(open(inputs_path)).items()}
results = {"v2": {}, "v1": {}}
loaded = tf.saved_model.load(export_dir)
for name, request in inputs.items():
    outputs = loaded.signatures[name](**{k: tf.constant(v) for k, v in request.items()})
    results["v2"][name] = {k: v.numpy().tolist() for k, v in outputs.items()}
with tf.compat.v1.Graph().as_default(), tf.compat.v1.Session() as session:
    meta_graph = tf.compat.v1.saved_model.load(session, ["serve"], export_dir)
    for name, request in inputs.items():
        signature = meta_graph.signature_def[name]
        feed = {signature.inputs[k].name: v for k, v in request.items()}
        names = sorted(signature.outputs)
        values = session.run([signature.outputs[k].name for k in names], feed)
        results["v1"][name] = {k: v.tolist() for k, v in zip(names, values)}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    """(version folder, the model as inference loads it, run config) of one export of the tiny
    run."""
    _, result = tiny_run
    base = tmp_path_factory.mktemp("export")
    path = export.export(result.run_dir, export_base=str(base), settings=SETTINGS)
    model = loading.load(result.run_dir)
    return path, model, model.config


@pytest.fixture(scope="module")
def exported_128(tiny_run_128, tmp_path_factory):
    """``exported`` of the 128 px tiny run (with its encoder)."""
    run_dir = tiny_run_128[1].run_dir
    path = export.export(run_dir, export_base=str(tmp_path_factory.mktemp("export")),
                         settings=SETTINGS)
    model = loading.load(run_dir)
    return path, model, model.config


def _requests(config):
    size, latent = config.image_size, config.latent_dim
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, size, size, 3)).astype(np.uint8)
    masks = mask_lib.make_masks("center", 2, size)
    return {
        "serving_default": {"latents": rng.normal(size=(3, latent)).astype(np.float32)},
        "generate_from_seed": {"seed": np.int64(5), "count": np.int32(3)},
        "discriminate": {"images": images},
        "complete": {"images": images, "masks": masks},
        "complete_with_options": {"images": images, "masks": masks, "steps": np.int32(3),
                                  "seed": np.int64(9)},
    }


def _in_process(model, config, requests):
    """What the library gives for the same requests."""
    generator, discriminator = model.generator, model.discriminator
    latents = requests["serving_default"]["latents"]
    seeded = sampling.sample_latents([3, config.latent_dim], tf.constant([5, 0], tf.int64),
                                     config.latent_prior)
    images = image_utils.to_float(requests["discriminate"]["images"])
    results = {
        "serving_default": {"images": image_utils.to_uint8(
            generator(latents, training=False).numpy())},
        "generate_from_seed": {"images": image_utils.to_uint8(
            generator(seeded, training=False).numpy())},
        "discriminate": {"probability": tf.sigmoid(discriminator(images)[:, 0]).numpy()},
    }
    if "encode" in requests:
        results["encode"] = {"latents": encoder_lib.encode(
            model.encoder, images, requests["encode"]["masks"]).numpy()}
    for name, steps, seed in (("complete", STEPS, 0), ("complete_with_options", 3, 9)):
        settings = dataclasses.replace(SETTINGS, steps=steps).for_model(config.latent_prior)
        completion = search.complete(generator, discriminator, images, requests[name]["masks"],
                                     settings, seed=seed)
        results[name] = {"completed": image_utils.to_uint8(completion.completed),
                         "generated": image_utils.to_uint8(completion.generated),
                         "loss": completion.losses}
    return results


@pytest.mark.parametrize("export_of", ["exported", "exported_128"])
def test_every_signature_matches_in_process_from_a_fresh_process(export_of, request, tmp_path):
    path, model, config = request.getfixturevalue(export_of)
    requests = _requests(config)
    if model.encoder is not None:
        requests["encode"] = {key: requests["complete"][key] for key in ("images", "masks")}
    with open(tmp_path / "inputs.json", "w") as handle:
        json.dump({name: {key: (np.asarray(value).tolist(), np.asarray(value).dtype.name)
                          for key, value in request.items()}
                   for name, request in requests.items()}, handle)
    script = tmp_path / "serve_like.py"
    script.write_text(_FRESH_PROCESS)
    run = subprocess.run([sys.executable, "-I", str(script), path, str(tmp_path / "inputs.json")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    expected = _in_process(model, config, requests)
    for loader in ("v2", "v1"):
        for name, outputs in expected.items():
            assert set(loaded[loader][name]) == set(outputs), (loader, name)
            for key, value in outputs.items():
                got = np.asarray(loaded[loader][name][key])
                if value.dtype == np.uint8:  # rounding may differ by one level
                    assert np.abs(got.astype(int) - value.astype(int)).max() <= 1, (name, key)
                else:
                    np.testing.assert_allclose(got, value, rtol=1e-3, atol=1e-5)
    known = requests["complete"]["masks"][..., 0] == 1
    completed = np.asarray(loaded["v1"]["complete"]["completed"], np.uint8)
    np.testing.assert_array_equal(completed[known], requests["complete"]["images"][known])


def test_bad_requests_get_clear_errors(exported):
    path, _, config = exported
    signatures = tf.saved_model.load(path).signatures
    size = config.image_size
    images = tf.zeros([1, size, size, 3], tf.uint8)
    masks = tf.ones([1, size, size, 1])
    bad = [
        ("discriminate", {"images": tf.zeros([1, size // 2, size // 2, 3], tf.uint8)},
         "images"),
        ("complete", {"images": images, "masks": tf.ones([1, size // 2, size // 2, 1])},
         "masks"),
        ("complete", {"images": images, "masks": tf.ones([2, size, size, 1])},
         "one mask per image"),
        ("complete_with_options", {"images": images, "masks": masks, "steps": tf.constant(0),
                                   "seed": tf.constant(0, tf.int64)}, "steps must be >= 1"),
        ("generate_from_seed", {"seed": tf.constant(1, tf.int64), "count": tf.constant(0)},
         "count must be >= 1"),
        ("serving_default", {"latents": tf.zeros([1, config.latent_dim + 1])}, "latents"),
        ("export_info", {"format": tf.constant("xml")}, "format must be json"),
    ]
    for name, request, message in bad:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            signatures[name](**request)
    with pytest.raises(tf.errors.InvalidArgumentError, match="uint8"):  # float images
        signatures["discriminate"](images=tf.zeros([1, size, size, 3]))


def test_saved_model_cli_shows_and_runs(exported):
    path, _, config = exported
    show = subprocess.run(["saved_model_cli", "show", "--dir", path, "--all"],
                          capture_output=True, text=True, timeout=120)
    assert show.returncode == 0, show.stderr
    for name in export.SIGNATURES:
        assert f"signature_def['{name}']" in show.stdout
    assert "DT_UINT8" in show.stdout and "shape: (-1, 32, 32, 3)" in show.stdout
    run = subprocess.run(["saved_model_cli", "run", "--dir", path, "--tag_set", "serve",
                          "--signature_def", "serving_default", "--input_exprs",
                          f"latents={[[0.0] * config.latent_dim] * 2}"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "images" in run.stdout


def test_versions_keep_and_models_config(tiny_run, tmp_path):
    _, result = tiny_run
    base = str(tmp_path / "export")
    cheap = dataclasses.replace(SETTINGS, steps=1, restarts=1, blend="paste")
    for _ in range(3):
        export.export(result.run_dir, export_base=base, settings=cheap, keep=2)
    assert export.versions(os.path.join(base, "dcgan")) == [2, 3]
    with pytest.raises(ValueError, match="--version 3 already exists"):
        export.export(result.run_dir, export_base=base, settings=cheap, version=3)
    export.export(result.run_dir, export_base=base, model_name="faces", settings=cheap,
                  version=7)
    config = open(export.write_models_config(base, "/models")).read()
    assert 'name: "dcgan"' in config and 'base_path: "/models/faces"' in config
    with pytest.raises(ValueError, match="--model_name"):
        export.export(result.run_dir, export_base=base, model_name="../x", settings=cheap)


def test_a_killed_export_leaves_no_version_folder(tiny_run, tmp_path):
    _, result = tiny_run
    base = tmp_path / "export"
    process = subprocess.Popen(
        [sys.executable, os.path.join(REPO_ROOT, "export.py"), f"--model={result.run_dir}",
         f"--export_base={base}", "--steps=1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    model_dir = base / "dcgan"
    deadline = time.monotonic() + 120
    def writing():
        return model_dir.is_dir() and any(path.name.startswith(".partial-")
                                          for path in model_dir.iterdir())
    while time.monotonic() < deadline and not writing():
        time.sleep(0.05)
    killed_while_writing = writing()
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert killed_while_writing, "the export was not killed while a .partial- folder existed"
    assert export.versions(str(model_dir)) == []  # a partial export is never a version
    cheap = dataclasses.replace(SETTINGS, steps=1, restarts=1, blend="paste")
    path = export.export(result.run_dir, export_base=str(base), settings=cheap)
    assert path.endswith(os.path.join("dcgan", "1"))
    assert sorted(os.listdir(model_dir)) == ["1"]  # the leftover was cleaned up


def test_unwritable_export_base_fails_before_loading_the_model(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="--export_base .*file/base/dcgan is not writable"):
        export.export("/no/such/run", export_base=str(blocker / "base"))


def test_export_info_holds_the_settings_that_run(exported):
    """The baked settings, as they run on the model, are readable through the export_info
    signature (what complete.py reads from a SavedModel or TF Serving)."""
    path, _, config = exported
    completer = clients.SavedModelCompleter(path)
    assert completer.settings == SETTINGS.for_model(config.latent_prior)
    with open(os.path.join(path, "assets", export.INFO_FILE)) as handle:
        assert json.load(handle)["completion"] == dataclasses.asdict(completer.settings)


def test_export_refuses_flags_its_method_sets(tmp_path):
    """export.py refuses, by name, the flags --method sets itself (through the same function
    as complete.py), before loading anything."""
    result = subprocess.run([sys.executable, os.path.join(REPO_ROOT, "export.py"),
                             "--method=bamos", "--steps=50", f"--export_base={tmp_path}"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode != 0
    assert "--method=bamos sets --steps itself" in result.stderr
    assert not os.listdir(tmp_path)
