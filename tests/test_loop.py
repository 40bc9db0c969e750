"""GAN runs: folders, resume (step, optimizers, fixed z, learning rates), TensorBoard event
contents with completion previews, mixed precision, the fixed held-out set, refusals."""

import dataclasses
import glob
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from conftest import FACES, TINY, gif_duration_ms
from dcgan_tf.inpainting import search
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.models import runs
from dcgan_tf.models.config import TrainConfig
from dcgan_tf.serving import loading
from dcgan_tf.training import fitting, loop


@pytest.fixture
def finished_run(tiny_run, tmp_path):
    """A private copy of the shared 3-step run, free to be extended."""
    config, result = tiny_run
    copy = shutil.copytree(result.run_dir, tmp_path / os.path.basename(result.run_dir))
    return (dataclasses.replace(config, runs_dir=str(tmp_path)),
            dataclasses.replace(result, run_dir=str(copy)))


def test_run_folder_layout(tiny_run):
    config, result = tiny_run
    assert os.path.basename(result.run_dir) == "00000-synthetic-32"
    assert result.step == 3 and len(result.history["d_loss"]) == 1
    with open(os.path.join(result.run_dir, "config.json")) as handle:
        assert TrainConfig.from_dict(json.load(handle)) == config
    samples = sorted(os.listdir(os.path.join(result.run_dir, "samples")))
    assert samples == ["progress.gif", "step-000002.png", "step-000003.png"]
    assert gif_duration_ms(os.path.join(result.run_dir, "samples", "progress.gif")) == 2 * 200
    assert tf.train.latest_checkpoint(os.path.join(result.run_dir, "checkpoints")).endswith("-3")


def _events(run_dir):
    events = []
    for path in glob.glob(os.path.join(run_dir, "logs", "events.out.tfevents.*")):
        events.extend(tf.compat.v1.train.summary_iterator(path))
    return events


def test_tensorboard_events_hold_scalars_images_and_graph(tiny_run):
    _, result = tiny_run
    events = _events(result.run_dir)
    scalars, images = {}, {}
    for event in events:
        for value in event.summary.value:
            plugin = value.metadata.plugin_data.plugin_name
            if plugin == "scalars":
                scalars.setdefault(value.tag, []).append(event.step)
            elif plugin == "images":
                images.setdefault(value.tag, []).append((event.step, tf.make_ndarray(value.tensor)))
    assert set(scalars) == {"d_loss", "g_loss", "d_real", "d_fake", "preview_hole_psnr"}
    assert scalars["d_loss"] == [1, 2, 3]
    steps = [step for step, _ in images["samples"]]
    assert steps == [2, 3]
    # An image summary holds [width, height, PNG bytes...]; check the PNG decodes to the grid.
    encoded = images["samples"][0][1]
    grid = tf.io.decode_png(encoded[2]).numpy()
    assert grid.shape == (2 + 2 * 34, 2 + 2 * 34, 3) and grid.std() > 0
    assert any(event.graph_def for event in events)


def test_resume_continues_step_optimizers_and_fixed_latents(finished_run):
    config, result = finished_run
    checkpoint_dir = os.path.join(result.run_dir, "checkpoints")
    saved = tf.train.load_checkpoint(tf.train.latest_checkpoint(checkpoint_dir))
    networks = loop.build_compiled_gan(config)
    assert int(networks.gan.d_optimizer.iterations) == 0
    networks.checkpoint.restore(tf.train.latest_checkpoint(checkpoint_dir))
    assert int(networks.gan.d_optimizer.iterations) == 3
    assert int(networks.gan.g_optimizer.iterations) == 3
    for optimizer in (networks.gan.d_optimizer, networks.gan.g_optimizer):
        momenta = [v for v in optimizer.variables if "momentum" in v.path]
        assert momenta and all(np.abs(v.numpy()).sum() > 0 for v in momenta)
    fixed = [name for name in saved.get_variable_to_shape_map() if name.startswith("fixed_latents")]
    np.testing.assert_array_equal(networks.fixed_latents.numpy(), saved.get_tensor(fixed[0]))

    longer = dataclasses.replace(config, epochs=2)
    resumed = loop.run(longer, run_dir=result.run_dir, images=FACES, verbose=0)
    assert resumed.step == 6 and len(resumed.history["d_loss"]) == 1
    scalar_steps = sorted({e.step for e in _events(result.run_dir)
                           for v in e.summary.value if v.tag == "d_loss"})
    assert scalar_steps == [1, 2, 3, 4, 5, 6]


def test_resume_mid_epoch_finishes_the_epoch_first(tmp_path):
    config = dataclasses.replace(TINY, runs_dir=str(tmp_path), steps_per_epoch=4, epochs=1,
                                 checkpoint_every=100, sample_every=100)
    first = loop.run(dataclasses.replace(config, steps_per_epoch=2), images=FACES, verbose=0)
    assert first.step == 2
    resumed = loop.run(dataclasses.replace(config, epochs=2), run_dir=first.run_dir,
                       images=FACES, verbose=0)
    assert resumed.step == 8 and len(resumed.history["d_loss"]) == 2
    # The end of the first fit (the rest of the epoch, step 4) is not the end of training: the
    # samples (and FID, checkpoints) "at the end" come once, at step 8.
    samples = sorted(os.listdir(os.path.join(first.run_dir, "samples")))
    assert [name for name in samples if name.startswith("step-")] == [
        "step-000002.png", "step-000008.png"]


def test_resume_with_another_architecture_is_refused(finished_run):
    config, result = finished_run
    with pytest.raises(ValueError, match="--g_filters 4 -> 8"):
        loop.run(dataclasses.replace(config, g_filters=8), run_dir=result.run_dir,
                 images=FACES, verbose=0)


def test_config_validation_names_the_flag():
    with pytest.raises(ValueError, match="--image_size"):
        TrainConfig(image_size=48).validate()
    with pytest.raises(ValueError, match="--learning_rate"):
        TrainConfig(learning_rate=0).validate()
    with pytest.raises(ValueError, match="--batch_size"):
        TrainConfig(batch_size=0).validate()


def test_unwritable_runs_dir_fails_before_loading_data(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    config = dataclasses.replace(TINY, runs_dir=str(blocker / "runs"), data="/no/such/data")
    with pytest.raises(ValueError, match="--runs_dir .*file/runs is not writable"):
        loop.run(config, verbose=0)


def test_nan_losses_stop_the_run_and_keep_the_last_good_checkpoint(finished_run, monkeypatch):
    config, result = finished_run
    from dcgan_tf.models import losses
    healthy = losses.minimax_discriminator_loss
    monkeypatch.setitem(losses.DISCRIMINATOR_LOSSES, "minimax",
                        lambda real, fake: healthy(real, fake) * np.nan)
    checkpoints = os.path.join(result.run_dir, "checkpoints")
    samples_before = sorted(os.listdir(os.path.join(result.run_dir, "samples")))
    longer = dataclasses.replace(config, epochs=3)
    with pytest.raises(fitting.TrainingDiverged) as caught:
        loop.run(longer, run_dir=result.run_dir, images=FACES, verbose=0)
    message = str(caught.value)
    assert "training diverged at step 4: d_loss, g_loss became NaN or infinite" in message
    assert "the last good checkpoint, ckpt-3, is kept" in message
    assert f"python train.py --run_dir={result.run_dir} --learning_rate=1e-4" in message
    assert tf.train.latest_checkpoint(checkpoints).endswith("ckpt-3")
    assert sorted(os.listdir(os.path.join(result.run_dir, "samples"))) == samples_before


def test_learning_rate_given_on_resume_replaces_the_checkpointed_one(finished_run):
    config, result = finished_run
    resumed = loop.run(dataclasses.replace(config, epochs=2, learning_rate=1e-5),
                       run_dir=result.run_dir, images=FACES, verbose=0)
    for optimizer in (resumed.trained.gan.d_optimizer, resumed.trained.gan.g_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(1e-5)


def test_two_timescales_set_each_optimizer_and_win_on_resume(tmp_path):
    config = dataclasses.replace(TINY, runs_dir=str(tmp_path), g_learning_rate=1e-4,
                                 d_learning_rate=4e-4)
    built = loop.build_compiled_gan(config)
    assert float(built.gan.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(built.gan.d_optimizer.learning_rate) == pytest.approx(4e-4)
    shorthand = loop.build_compiled_gan(dataclasses.replace(TINY, learning_rate=3e-4))
    for optimizer in (shorthand.gan.g_optimizer, shorthand.gan.d_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(3e-4)
    result = loop.run(config, images=FACES, verbose=0)
    resumed = loop.run(dataclasses.replace(config, epochs=2, d_learning_rate=1e-5),
                       run_dir=result.run_dir, images=FACES, verbose=0)
    assert float(resumed.trained.gan.d_optimizer.learning_rate) == pytest.approx(1e-5)
    assert float(resumed.trained.gan.g_optimizer.learning_rate) == pytest.approx(1e-4)


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_a_mixed_precision_run_trains_saves_resumes_and_completes(tmp_path, precision):
    config = dataclasses.replace(TINY, runs_dir=str(tmp_path), mixed_precision=precision,
                                 g_ema_kimg=0.01)
    result = loop.run(config, images=FACES, verbose=0)
    gan_model = result.trained.gan
    assert gan_model.generator.get_layer("up0").compute_dtype == precision
    assert all(variable.dtype == "float32" for variable in gan_model.generator.variables)
    assert gan_model.generator(tf.zeros([1, 8])).dtype == tf.float32
    resumed = loop.run(dataclasses.replace(config, epochs=2), run_dir=result.run_dir,
                       images=FACES, verbose=0)
    assert resumed.step == 6
    model = loading.load(result.run_dir)
    assert model.step == 6 and model.generator.get_layer("up0").compute_dtype == "float32"
    images = tf.constant(FACES[:2] / 127.5 - 1.0, tf.float32)
    masks = np.ones([2, 32, 32, 1], np.float32)
    masks[:, 8:24, 8:24] = 0
    completion = search.complete(model.generator, model.discriminator, images, masks,
                                 SearchSettings(steps=3))
    assert np.all(np.isfinite(completion.completed))


def test_a_float32_run_resumes_computing_in_bfloat16(tmp_path):
    """The checkpoint of a float32 run restores into bfloat16 networks (the same float32
    variables) and training goes on from its step."""
    config = dataclasses.replace(TINY, runs_dir=str(tmp_path), g_ema_kimg=0.01)
    result = loop.run(config, images=FACES, verbose=0)
    resumed = loop.run(dataclasses.replace(config, epochs=2, mixed_precision="bfloat16"),
                       run_dir=result.run_dir, images=FACES, verbose=0)
    assert resumed.step == 6
    assert resumed.trained.gan.generator.get_layer("up0").compute_dtype == "bfloat16"
    assert runs.load_config(result.run_dir).mixed_precision == "bfloat16"


def test_held_out_faces_are_fixed_for_a_run_whatever_the_previews(tmp_path):
    """The hold-out does not follow --preview_every, a resumed run keeps its held-out set, and a
    config.json from before the field says what that run held out."""
    assert TrainConfig(preview_every=0).held_out_faces == 8
    run = str(tmp_path)
    runs.save_config(run, dataclasses.replace(TINY, held_out_faces=8))
    with pytest.raises(ValueError, match="--held_out_faces 8 -> 0"):
        loop.run(dataclasses.replace(TINY, held_out_faces=0), run_dir=run, images=FACES,
                 verbose=0)
    legacy = json.loads(TINY.to_json())
    del legacy["held_out_faces"]
    assert TrainConfig.from_dict({**legacy, "preview_every": 500}).held_out_faces == 8
    assert TrainConfig.from_dict({**legacy, "preview_every": 0}).held_out_faces == 0
    del legacy["preview_every"]  # a run from before the previews held out nothing
    assert TrainConfig.from_dict(legacy).held_out_faces == 0


@pytest.mark.parametrize("run_of, preview_steps", [("tiny_run", [2, 3]), ("tiny_run_128", [3])])
def test_completion_previews_are_in_the_event_files(run_of, preview_steps, request):
    """--preview_every=2 (3 at 128 px) on a 3-step run: the preview grid (two faces of the
    run's size a row) and its hole PSNR at steps 2 and 3 (3)."""
    config, result = request.getfixturevalue(run_of)
    steps = {}
    for path in glob.glob(os.path.join(result.run_dir, "logs", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                steps.setdefault(value.tag, []).append(event.step)
                if value.tag == "preview_hole_psnr":
                    assert 3.0 < float(tf.make_ndarray(value.tensor)) < 40.0
                if value.tag == "completion_preview":
                    width = int(value.tensor.string_val[0])
                    assert width == 2 + 6 * (config.image_size + 2)
    assert steps["completion_preview"] == preview_steps
    assert steps["preview_hole_psnr"] == preview_steps
