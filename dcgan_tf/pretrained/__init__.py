"""Models shipped inside the package, by name (``complete.py --model=celeba64``).

``dcgan_tf/pretrained/<name>/`` holds:
    config.json               the TrainConfig the model was trained with
    generator.weights.h5      G's weights (its moving average when the run kept one)
    discriminator.weights.h5  D's weights
    encoder.weights.h5        the encoder's weights (optional; complete.py --method=fast)
    MODEL_CARD.md             data, training, measured quality and license
"""

import os
import shutil
import tempfile

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = "celeba64"
CONFIG_FILE = "config.json"
GENERATOR_FILE = "generator.weights.h5"
DISCRIMINATOR_FILE = "discriminator.weights.h5"
ENCODER_FILE = "encoder.weights.h5"
_REQUIRED = (CONFIG_FILE, GENERATOR_FILE, DISCRIMINATOR_FILE)


def available() -> list[str]:
    """Names of the complete packaged models."""
    return sorted(name for name in os.listdir(PACKAGE_DIR) if model_dir(name))


def model_dir(name: str) -> str | None:
    """The folder of the packaged model ``name``, or None when there is no such model."""
    if not name or os.sep in name or name.startswith(".") or name.startswith("_"):
        return None
    path = os.path.join(PACKAGE_DIR, name)
    if all(os.path.isfile(os.path.join(path, file)) for file in _REQUIRED):
        return path
    return None


def save(directory: str, config_json: str, generator, discriminator, encoder=None) -> None:
    """Writes a packaged model folder, replacing an older one: everything goes to a temporary
    folder beside it that is renamed into place at the end, so a reader (or a crash) never sees
    a half-written model."""
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".partial-", dir=parent)
    os.chmod(staging, 0o755)  # mkdtemp makes it private; a model folder is for every user
    try:
        with open(os.path.join(staging, CONFIG_FILE), "w") as handle:
            handle.write(config_json + "\n")
        generator.save_weights(os.path.join(staging, GENERATOR_FILE))
        discriminator.save_weights(os.path.join(staging, DISCRIMINATOR_FILE))
        if encoder is not None:
            encoder.save_weights(os.path.join(staging, ENCODER_FILE))
        for kept in ("MODEL_CARD.md",):  # hand-written files survive a re-package
            if os.path.isfile(os.path.join(directory, kept)):
                shutil.copy2(os.path.join(directory, kept), staging)
        retired = tempfile.mkdtemp(prefix=".retired-", dir=parent)
        if os.path.isdir(directory):
            os.rename(directory, os.path.join(retired, "old"))
        os.rename(staging, directory)
        shutil.rmtree(retired)
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging)
