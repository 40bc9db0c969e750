"""Models shipped inside the package, by name (``complete.py --model=celeba64``).

``dcgan_tf/pretrained/<name>/`` holds:
    config.json               the TrainConfig the model was trained with
    generator.weights.h5      G's weights (its moving average when the run kept one)
    discriminator.weights.h5  D's weights
    encoder.weights.h5        the encoder's weights (optional; complete.py --method=fast)
    MODEL_CARD.md             data, training, measured quality and license
The weights files are Keras' own; ``save`` stores every array byte-shuffled and gzip-compressed
(HDF5's lossless filters, which ``load_weights`` reads as it reads any file): 9-15% smaller for
float32 weights, which keeps a 128 px model with its encoder under 40 MB.
"""

import os
import shutil
import tempfile

import h5py

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = "celeba64"
CONFIG_FILE = "config.json"
GENERATOR_FILE = "generator.weights.h5"
DISCRIMINATOR_FILE = "discriminator.weights.h5"
ENCODER_FILE = "encoder.weights.h5"
_REQUIRED = (CONFIG_FILE, GENERATOR_FILE, DISCRIMINATOR_FILE)
_COMPRESSION = {"compression": "gzip", "compression_opts": 9, "shuffle": True}  # HDF5, lossless


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
        networks = {GENERATOR_FILE: generator, DISCRIMINATOR_FILE: discriminator,
                    ENCODER_FILE: encoder}
        for file, network in networks.items():
            if network is not None:
                network.save_weights(os.path.join(staging, file))
                compress_weights(os.path.join(staging, file))
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


def compress_weights(path: str) -> None:
    """Rewrites the Keras ``.weights.h5`` file ``path`` with the same groups, attributes and
    arrays, each array of more than one value byte-shuffled and gzip-compressed (lossless)."""
    packed = path + ".packing"
    with h5py.File(path, "r") as source, h5py.File(packed, "w") as target:
        target.attrs.update(source.attrs)

        def copy(name, item):
            if isinstance(item, h5py.Group):
                target.create_group(name).attrs.update(item.attrs)
                return
            target.create_dataset(name, data=item[()], **(_COMPRESSION if item.size > 1 else {}))
            target[name].attrs.update(item.attrs)

        source.visititems(copy)
    os.replace(packed, path)
