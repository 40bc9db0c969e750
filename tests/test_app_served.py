"""The web app as users start it: ``python app.py`` in a fresh process on 127.0.0.1, and with
its completions run by an export (a SavedModel folder here, or TF Serving's REST API)."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dcgan_tf.app import engine as engine_lib, server
from dcgan_tf.inpainting.settings import search_settings
from dcgan_tf.serving import clients, export
from app_helpers import REPO, decode, face_mask, png, start_app, stop_app
from serving_stub import ServingStub


def test_app_py_serves_the_page_and_api_on_loopback_only():
    process, url = start_app()
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/", timeout=30) as response:
            page = response.read().decode()
        assert "<canvas" in page and "/static/app.js" in page
        with urllib.request.urlopen(f"{url}/api/info", timeout=30) as response:
            assert json.load(response)["methods"] == ["instant", "fast", "tune", "default"]
        with pytest.raises(urllib.error.HTTPError) as error:  # no path reaches past static/
            urllib.request.urlopen(f"{url}/static/../server.py", timeout=30)
        assert error.value.code == 404
    finally:
        stop_app(process)


def test_app_py_refuses_bad_flags():
    for flags, message in ((["--port=70000"], "--port must be in [0, 65535]"),
                           (["--model=celeba64", "--server=http://x"],
                            "give --model or --server, not both"),
                           (["--max_megapixels=70"], "--max_megapixels must be in (0, 64]"),
                           (["--min_confidence=2"], "--min_confidence must be in (0, 1], got 2.0"),
                           (["--model=no_such_model"], "no_such_model")):
        run = subprocess.run([sys.executable, os.path.join(REPO, "app.py"), *flags],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode != 0 and message in run.stderr, run.stderr


@pytest.fixture(scope="module")
def fast_export(tmp_path_factory):
    """The packaged model exported with --method=fast."""
    return export.export("celeba64", export_base=str(tmp_path_factory.mktemp("export")),
                         settings=search_settings("fast"))


def check_served_app(engine: engine_lib.Engine):
    """The app on a served engine offers instant and the baked method, and both fill the hole;
    the completion leaves the rest of the photo bit-identical (the preview, a JPEG, close)."""
    assert engine.methods == ("instant", "fast")
    with TestClient(server.create_app(engine)) as client:
        data = client.get("/api/samples/1").content
        face = client.post("/api/faces", files={"image": ("s.png", data)}).json()["faces"][0]
        mask = face_mask(face, (320, 320))
        hole, pixels = mask == 0, decode(data)
        parts = {"image": ("s.png", data), "mask": ("m.png", png(mask))}
        for endpoint, fields in (("/api/preview", {}), ("/api/complete", {"method": "fast"})):
            response = client.post(endpoint, files=parts, data=fields)
            assert response.status_code == 200, response.text
            result = decode(response.content).astype(int)
            outside = np.abs(result[~hole] - pixels[~hole])
            assert outside.max() == 0 if endpoint == "/api/complete" else outside.mean() < 1
            assert np.abs(result[hole] - pixels[hole]).mean() > 1
        refused = client.post("/api/complete", files=parts, data={"method": "default"})
        assert refused.status_code == 400 and "offers instant, fast" in refused.json()["detail"]


def test_app_on_a_saved_model_in_this_process(fast_export):
    check_served_app(engine_lib.ServedEngine(clients.SavedModelCompleter(fast_export),
                                             fast_export))


def test_app_on_tf_serving_rest(fast_export):
    stub = ServingStub(fast_export)
    try:
        check_served_app(engine_lib.ServedEngine(clients.RestCompleter(stub.url), stub.url))
        used = {request["signature_name"] for request in stub.requests}
        assert used == {"export_info", "generate_from_seed", "encode", "serving_default",
                        "complete_with_options"}
    finally:
        stub.close()
