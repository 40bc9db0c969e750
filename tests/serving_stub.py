"""A stand-in for TF Serving's REST API (model metadata and predict with columnar "inputs"),
answering from an exported SavedModel, for testing clients on 127.0.0.1."""

import http.server
import json
import re
import threading

import numpy as np
import tensorflow as tf

_DTYPES = {tf.uint8: "DT_UINT8", tf.float32: "DT_FLOAT", tf.int32: "DT_INT32",
           tf.int64: "DT_INT64", tf.string: "DT_STRING"}


class ServingStub:
    """Serves ``export_dir`` as model ``name`` at ``self.url`` (``/v1/models/<name>``)."""

    def __init__(self, export_dir: str, name: str = "dcgan"):
        self.signatures = tf.saved_model.load(export_dir).signatures
        self.name, self.requests = name, []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/models/{name}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def metadata(self) -> dict:
        def tensor_info(spec):
            return {"dtype": _DTYPES[spec.dtype], "tensor_shape": {"dim": [
                {"size": str(-1 if size is None else size)} for size in spec.shape]}}
        definitions = {}
        for key, function in self.signatures.items():
            inputs = function.structured_input_signature[1]
            definitions[key] = {"inputs": {k: tensor_info(v) for k, v in inputs.items()},
                                "outputs": {k: tensor_info(v) for k, v in
                                            function.structured_outputs.items()},
                                "method_name": "tensorflow/serving/predict"}
        return {"model_spec": {"name": self.name, "signature_name": "", "version": "1"},
                "metadata": {"signature_def": {"signature_def": definitions}}}

    def predict(self, body: dict) -> dict:
        function = self.signatures[body.get("signature_name", "serving_default")]
        specs = function.structured_input_signature[1]
        if set(body["inputs"]) != set(specs):
            raise ValueError(f"input size does not match signature: {sorted(body['inputs'])} "
                             f"!= {sorted(specs)}")
        inputs = {key: tf.constant(np.asarray(value), specs[key].dtype)
                  for key, value in body["inputs"].items()}
        outputs = {key: _to_json(value) for key, value in function(**inputs).items()}
        # As TF Serving, the only output of a signature goes without its name.
        return {"outputs": next(iter(outputs.values())) if len(outputs) == 1 else outputs}

    def _handler(self):
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, value: dict):
                payload = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                if self.path != f"/v1/models/{stub.name}/metadata":
                    return self._reply(404, {"error": f"no route {self.path}"})
                self._reply(200, stub.metadata())

            def do_POST(self):
                if not re.fullmatch(rf"/v1/models/{stub.name}(/versions/\d+)?:predict",
                                    self.path):
                    return self._reply(404, {"error": f"no route {self.path}"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                try:
                    self._reply(200, stub.predict(body))
                except (tf.errors.InvalidArgumentError, ValueError, KeyError) as error:
                    message = getattr(error, "message", None) or str(error)
                    self._reply(400, {"error": message})

        return Handler


def _to_json(tensor: tf.Tensor):
    """A tensor as TF Serving writes it in JSON: strings as UTF-8 text."""
    if tensor.dtype == tf.string:
        return tf.nest.map_structure(bytes.decode, tensor.numpy().tolist()) \
            if tensor.shape.rank else tensor.numpy().decode()
    return tensor.numpy().tolist()
