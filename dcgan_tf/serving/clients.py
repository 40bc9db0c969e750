"""Completion through an exported SavedModel: loaded in this process, or behind a TF Serving REST
endpoint (``http://HOST:8501/v1/models/NAME``, predict API, ``complete_with_options``).

Both run the whole completion in the served graph with the settings baked in at export, which
they read from the export's ``export_info`` signature (``settings``); only the number of steps
and the seed travel with a request. Request and response bodies follow TF Serving's documented
REST format ("inputs" / "outputs", columnar).
"""

import json
import urllib.error
import urllib.request

import numpy as np

from dcgan_tf.inpainting.settings import SearchSettings

SIGNATURE = "complete_with_options"
INFO_SIGNATURE = "export_info"


def baked_settings(info: dict, where: str) -> SearchSettings:
    """The completion settings recorded in an export's info (``export_info.json``).

    Raises:
        ValueError: naming ``where`` when the info holds no valid settings.
    """
    try:
        return SearchSettings(**info["completion"]).validate()
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{where}: the export's settings cannot be read ({error}); export it "
                         f"again with this version's export.py") from None


class SavedModelCompleter:
    """Runs ``complete_with_options`` of a SavedModel folder in this process; ``settings`` are
    the ones baked in at export, ``info`` the whole export info and ``signatures`` the names
    of its signatures."""

    def __init__(self, path: str):
        import tensorflow as tf
        self._tf = tf
        self._signatures = tf.saved_model.load(path).signatures
        self.signatures = tuple(self._signatures)
        if INFO_SIGNATURE not in self.signatures:
            raise ValueError(f"--model {path} has no {INFO_SIGNATURE} signature (an export of "
                             f"an older version): export it again with export.py")
        self.info = json.loads(self.predict(INFO_SIGNATURE, {"format": "json"}, "info"))
        self.settings = baked_settings(self.info, f"--model {path}")
        completed = self._signatures[SIGNATURE].structured_outputs["completed"]
        self.image_size = int(completed.shape[1])

    def __call__(self, images: np.ndarray, masks: np.ndarray, steps: int, seed: int) -> dict:
        """uint8 images [N, S, S, 3] and float32 masks [N, S, S, 1] (1 = known) -> numpy
        ``completed`` and ``generated`` uint8 [N, S, S, 3] and ``loss`` float32 [N]."""
        return self.predict(SIGNATURE, {"images": images, "masks": masks, "steps": steps,
                                        "seed": seed})

    def predict(self, signature: str, inputs: dict, only_output: str | None = None):
        """As ``RestCompleter.predict``, in this process (numpy outputs)."""
        function = self._signatures[signature]
        specs = function.structured_input_signature[1]
        outputs = function(**{name: self._tf.constant(value, specs[name].dtype)
                              for name, value in inputs.items()})
        outputs = {key: value.numpy() for key, value in outputs.items()}
        return outputs[only_output] if only_output is not None else outputs


class RestCompleter:
    """Sends ``complete_with_options`` requests to a TF Serving REST endpoint; ``settings`` are
    the ones baked in at export, ``info`` the whole export info and ``signatures`` the names
    of the served signatures."""

    def __init__(self, url: str, timeout: float = 3600.0):
        self.url, self.timeout = url.rstrip("/"), timeout
        metadata = self._request(f"{self.url}/metadata")
        try:
            signatures = metadata["metadata"]["signature_def"]["signature_def"]
            dims = signatures[SIGNATURE]["outputs"]["completed"]["tensor_shape"]["dim"]
            self.image_size = int(dims[1]["size"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise ValueError(f"--server {url}: the model has no {SIGNATURE} signature; export "
                             f"it with export.py") from None
        if INFO_SIGNATURE not in signatures:
            raise ValueError(f"--server {url}: the model has no {INFO_SIGNATURE} signature (an "
                             f"export of an older version): export it again with export.py")
        self.signatures = tuple(signatures)
        self.info = json.loads(self.predict(INFO_SIGNATURE, {"format": "json"}, "info"))
        self.settings = baked_settings(self.info, f"--server {url}")

    def __call__(self, images: np.ndarray, masks: np.ndarray, steps: int, seed: int) -> dict:
        """As ``SavedModelCompleter.__call__``, over HTTP."""
        outputs = self.predict(SIGNATURE, {"images": np.asarray(images, np.uint8).tolist(),
                                           "masks": np.asarray(masks, np.float32).tolist(),
                                           "steps": int(steps), "seed": int(seed)})
        return {"completed": np.asarray(outputs["completed"], np.uint8),
                "generated": np.asarray(outputs["generated"], np.uint8),
                "loss": np.asarray(outputs["loss"], np.float32)}

    def predict(self, signature: str, inputs: dict, only_output: str | None = None):
        """The outputs of one predict request to ``signature`` (columnar JSON ``inputs``): a
        dict, or for a signature with the single output ``only_output`` that output (TF Serving
        leaves out the name of a signature's only output)."""
        outputs = self._request(f"{self.url}:predict",
                                {"signature_name": signature, "inputs": inputs})["outputs"]
        if only_output is not None and isinstance(outputs, dict):
            return outputs[only_output]
        return outputs

    def _request(self, url: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("error", detail)
            except json.JSONDecodeError:
                pass
            raise ValueError(f"--server: {url} answered {error.code}: {detail}") from None
        except urllib.error.URLError as error:
            raise ValueError(f"--server: cannot reach {url}: {error.reason}") from None
