"""The web app's HTTP API (``dcgan_tf.app.server``) on the packaged model: every endpoint, every
kind of bad input, a full queue, and concurrent requests each getting their own answer."""

import base64
import concurrent.futures
import io
import json
import logging
import struct
import threading
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app_helpers import decode, face_mask, png
from dcgan_tf import loading, photo as photo_lib
from dcgan_tf.app import engine as engine_lib, server


@pytest.fixture(scope="module")
def engine():
    return engine_lib.LocalEngine(loading.load("celeba64"))


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(server.create_app(engine)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def sample(client):
    """(photo bytes, pixels, mask PNG bytes, hole [H, W] bool) of sample 0."""
    data = client.get("/api/samples/0").content
    faces = client.post("/api/faces", files={"image": ("s.png", data)}).json()["faces"]
    pixels = decode(data)
    mask = face_mask(faces[0], pixels.shape[:2])
    return data, pixels, png(mask), mask == 0


def files(image: bytes, mask: bytes | None = None) -> dict:
    parts = {"image": ("photo.png", image)}
    if mask is not None:
        parts["mask"] = ("mask.png", mask)
    return parts


def assert_filled(result: np.ndarray, pixels: np.ndarray, hole: np.ndarray):
    """Bit-identical outside the hole, changed inside it (the samples are the model's own
    faces, which a good search comes close to)."""
    assert result.shape == pixels.shape
    np.testing.assert_array_equal(result[~hole], pixels[~hole])
    assert np.abs(result[hole].astype(int) - pixels[hole]).mean() > 1


def test_info_lists_the_methods_and_limits(client):
    info = client.get("/api/info").json()
    assert info["model"] == "celeba64" and info["image_size"] == 64
    assert info["methods"] == ["instant", "fast", "default"]
    assert info["max_upload_bytes"] == server.MAX_UPLOAD_BYTES and info["samples"] == 4


def test_every_sample_is_a_photo_with_one_face(client):
    for index in range(4):
        response = client.get(f"/api/samples/{index}")
        assert response.headers["content-type"] == "image/png"
        found = client.post("/api/faces", files=files(response.content)).json()
        assert (found["width"], found["height"]) == (320, 320)
        assert len(found["faces"]) == 1
        face = found["faces"][0]
        assert face["confidence"] > 0.9 and np.asarray(face["landmarks"]).shape == (5, 2)
    missing = client.get("/api/samples/4")
    assert missing.status_code == 404 and "there are 4" in missing.json()["detail"]


def test_faces_are_found_in_the_upright_photo(client, sample):
    """A phone photo stored sideways with an EXIF rotation tag: the size and boxes are those
    of the upright photo, the one the page draws."""
    data, pixels, _, _ = sample
    sideways = Image.fromarray(np.ascontiguousarray(np.rot90(pixels, k=1)))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    buffer = io.BytesIO()
    sideways.save(buffer, format="JPEG", quality=95, exif=exif)
    upright = client.post("/api/faces", files=files(data)).json()
    rotated = client.post("/api/faces", files=files(buffer.getvalue())).json()
    assert (rotated["width"], rotated["height"]) == (upright["width"], upright["height"])
    np.testing.assert_allclose(rotated["faces"][0]["box"], upright["faces"][0]["box"], atol=6)


def test_preview_is_the_instant_method(client, engine, sample):
    """The preview is G(E(masked face)) pasted back: the library's instant completion of the
    photo with seamless=False, as a JPEG (quality 95: within a few levels)."""
    data, pixels, mask, hole = sample
    response = client.post("/api/preview", files=files(data, mask))
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert "fill;dur=" in response.headers["server-timing"]
    preview = decode(response.content).astype(int)
    expected = photo_lib.complete_photo(engine.completer("instant"), pixels,
                                        mask=(~hole).astype(np.float32), seamless=False)
    assert np.abs(expected.completed[hole].astype(int) - pixels[hole]).mean() > 1
    error = np.abs(preview - expected.completed)
    assert error.mean() < 1.0 and np.percentile(error, 99) <= 6


def test_complete_gives_the_same_answer_with_and_without_progress(client, sample):
    data, pixels, mask, hole = sample
    plain = client.post("/api/complete", files=files(data, mask), data={"method": "fast",
                                                                         "seed": "3"})
    assert plain.status_code == 200
    assert_filled(decode(plain.content), pixels, hole)
    streamed = client.post("/api/complete", files=files(data, mask),
                           data={"method": "fast", "seed": "3", "progress": "true"})
    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    steps = [line["step"] for line in lines[:-1]]
    assert steps and steps == sorted(steps) and all(line["steps"] == 20 for line in lines[:-1])
    final = lines[-1]
    assert final["done"] and final["method"] == "fast"
    assert base64.b64decode(final["image"]) == plain.content


def test_refine_runs_the_default_search(client, sample):
    data, pixels, mask, hole = sample
    lines = client.post("/api/complete", files=files(data, mask),
                        data={"method": "default", "progress": "true"}).text.splitlines()
    assert json.loads(lines[0])["steps"] == 300
    final = json.loads(lines[-1])
    assert final["method"] == "default"
    assert_filled(decode(base64.b64decode(final["image"])), pixels, hole)


def test_a_mask_without_hole_gives_the_photo_back(client, sample):
    data, pixels, _, _ = sample
    keep_all = png(np.full(pixels.shape[:2], 255, np.uint8))
    response = client.post("/api/complete", files=files(data, keep_all))
    np.testing.assert_array_equal(decode(response.content), pixels)


def bomb_png() -> bytes:
    """A PNG whose header claims 20000 x 20000 pixels (400 MP, over MAX_PIXELS), in 57 bytes."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.mark.parametrize("make_request, status, message", [
    (lambda d, m: files(b"this is not an image", m), 400, "image: not a readable image"),
    (lambda d, m: files(d[:len(d) // 2], m), 400, "image: not a readable image"),
    (lambda d, m: files(bomb_png(), m), 400, "image: refused as a decompression bomb"),
    (lambda d, m: files(d, b"GIF89a"), 400, "mask file mask: not a readable image"),
    (lambda d, m: files(d, png(np.zeros((10, 20), np.uint8))), 400,
     "mask: 20x10 pixels, the image is 320x320"),
    (lambda d, m: files(d), 422, "Field required"),
], ids=["not an image", "truncated", "decompression bomb", "bad mask", "mask size",
        "no mask"])
def test_bad_uploads_are_named(client, sample, make_request, status, message):
    data, _, mask, _ = sample
    for endpoint in ("/api/preview", "/api/complete"):
        response = client.post(endpoint, files=make_request(data, mask))
        assert response.status_code == status, response.text
        assert message in json.dumps(response.json()["detail"])


def test_bad_fields_are_named(client, sample):
    data, _, mask, _ = sample
    for fields, message in (({"method": "bamos"}, "method: method 'bamos' is not offered"),
                            ({"seed": "-1"}, "seed must be in [0, 2147483647], got -1")):
        response = client.post("/api/complete", files=files(data, mask), data=fields)
        assert response.status_code == 400 and message in response.json()["detail"]
    response = client.post("/api/complete", files=files(data, mask), data={"seed": "x"})
    assert response.status_code == 422 and "seed" in response.text


def test_no_face_and_a_hole_away_from_the_face_are_422(client, sample):
    data, pixels, mask, _ = sample
    y, x = np.mgrid[0:200, 0:300]
    plain = png(np.stack([x, y, x + y], axis=-1).astype(np.uint8))
    hole = png(face_mask({"box": [100, 50, 100, 100]}, (200, 300)))
    response = client.post("/api/complete", files=files(plain, hole))
    assert response.status_code == 422 and "no face found" in response.json()["detail"]
    corner = np.full(pixels.shape[:2], 255, np.uint8)
    corner[:15, :15] = 0
    response = client.post("/api/complete", files=files(data, png(corner)))
    assert response.status_code == 422 and "the hole meets no face" in response.json()["detail"]
    # A preview is not an error: a stroke may start away from the face.
    response = client.post("/api/preview", files=files(data, png(corner)))
    assert response.status_code == 200
    assert "the hole meets no face" in response.headers["x-preview-note"]
    assert np.abs(decode(response.content).astype(int) - pixels).mean() < 1.0


def test_a_body_over_the_limit_is_413_before_it_is_read(engine):
    small = server.create_app(engine, server.Limits(max_upload_bytes=10_000))
    with TestClient(small) as test_client:
        declared = test_client.post("/api/faces", files=files(b"x" * 20_000))
        assert declared.status_code == 413
        assert "larger than the 10,000 bytes allowed" in declared.json()["detail"]

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(20):
                yield b"x" * 1000
        streamed = test_client.post("/api/faces", content=chunks(),
                                    headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert streamed.status_code == 413
        assert "larger than the 10,000 bytes allowed" in streamed.json()["detail"]


class _BlockingEngine(engine_lib.Engine):
    """An engine whose completions wait for ``release`` and then fill the hole with stripes
    whose period is the request's seed (so answers cannot be mixed up unnoticed)."""

    source, image_size, methods = "blocking", 64, ("instant", "fast")

    def __init__(self, real: engine_lib.LocalEngine):
        self.real, self.release, self.started = real, threading.Event(), threading.Event()

    def completer(self, method, seed=0, progress=None):
        def complete_crops(crops, masks):
            self.started.set()
            self.release.wait(timeout=60)
            columns = np.arange(crops.shape[2])
            stripes = np.where((columns // seed) % 2, 0.8, -0.8).astype(np.float32)
            return np.broadcast_to(stripes[None, None, :, None], crops.shape).copy()
        return photo_lib.CropCompleter(self.real.completer(method).template, 64,
                                       complete_crops)

    def generated_faces(self, count):
        return self.real.generated_faces(count)


def test_a_full_queue_answers_503_and_loses_no_answer(engine, sample):
    data, _, mask, _ = sample
    blocking = _BlockingEngine(engine)
    app = server.create_app(blocking, server.Limits(complete_queue=2))
    with TestClient(app) as test_client, concurrent.futures.ThreadPoolExecutor(2) as pool:
        post = lambda seed: test_client.post(  # noqa: E731
            "/api/complete", files=files(data, mask), data={"seed": str(seed)})
        first, second = pool.submit(post, 10), pool.submit(post, 20)
        assert blocking.started.wait(timeout=30)
        while app.state.complete_lane.jobs < 2:
            threading.Event().wait(0.01)
        refused = post(30)
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
        assert "the complete queue is full" in refused.json()["detail"]
        blocking.release.set()
        answers = [future.result(timeout=60) for future in (first, second)]
        assert [answer.status_code for answer in answers] == [200, 200]
        alone = [post(seed).content for seed in (10, 20)]
    assert [answer.content for answer in answers] == alone and alone[0] != alone[1]


def test_concurrent_requests_each_get_their_own_answer(client):
    """Previews and completions of four different photos at once, from four threads: each
    answer equals the answer to the same request made alone."""
    requests = []
    for index in range(4):
        data = client.get(f"/api/samples/{index}").content
        face = client.post("/api/faces", files=files(data)).json()["faces"][0]
        mask = png(face_mask(face, (320, 320), top=0.3 + 0.1 * index))
        endpoint = "/api/preview" if index % 2 else "/api/complete"
        requests.append((endpoint, files(data, mask)))
    alone = [client.post(endpoint, files=parts).content for endpoint, parts in requests]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda request: client.post(request[0],
                                                             files=request[1]).content,
                                 requests * 2))
    assert together == alone * 2
    assert len(set(alone)) == 4


class _CountingEngine(engine_lib.Engine):
    """``real``, counting the completers asked for, by method."""

    def __init__(self, real):
        self.real, self.source, self.image_size = real, real.source, real.image_size
        self.methods, self.asked = real.methods, []

    def completer(self, method, seed=0, progress=None):
        self.asked.append(method)
        return self.real.completer(method, seed, progress)

    def generated_faces(self, count):
        return self.real.generated_faces(count)


def test_warm_up_previews_a_sample_before_serving(engine, caplog):
    warmed, cold = _CountingEngine(engine), _CountingEngine(engine)
    with caplog.at_level(logging.INFO, logger=server.__name__):
        server.create_app(warmed, warm_up=True)
        server.create_app(cold)
    assert warmed.asked == ["instant"] and cold.asked == []
    assert "Preview warmed up" in caplog.text and "completed nothing" not in caplog.text
