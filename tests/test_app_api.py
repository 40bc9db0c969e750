"""The web app's HTTP API (``dcgan_tf.app.server``) on the packaged model: every endpoint, every
kind of bad input, a full queue, clients that disconnect (served by uvicorn in a thread), the
lanes and the photo cache, 500s, and concurrent requests each getting their own answer."""

import base64
import concurrent.futures
import io
import json
import logging
import struct
import threading
import zlib

import httpx2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app_helpers import decode, face_mask, png, send_unread, serving, wait_until
from conftest import StubDetector, detection_row, face_landmarks, face_photo
from dcgan_tf.app import engine as engine_lib, photos as photo_cache, server
from dcgan_tf.app.limits import Limits
from dcgan_tf.inpainting.settings import search_settings
from dcgan_tf.photo import completion as photo_lib, detect, scenes
from dcgan_tf.serving import loading


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
    assert info["methods"] == ["instant", "fast", "tune", "default"]
    assert info["max_upload_bytes"] == Limits().max_upload_bytes and info["samples"] == 4
    assert info["max_pixels"] == Limits().max_pixels


def test_every_sample_is_a_photo_with_one_face(client):
    for index in range(4):
        response = client.get(f"/api/samples/{index}")
        assert response.headers["content-type"] == "image/png"
        found = client.post("/api/faces", files=files(response.content)).json()
        assert (found["width"], found["height"]) == (320, 320)
        assert len(found["faces"]) == 1
        face = found["faces"][0]
        assert face["confidence"] >= detect.MIN_CONFIDENCE
        assert np.asarray(face["landmarks"]).shape == (5, 2)
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


@pytest.mark.parametrize("method", ["tune", "default"])
def test_refine_s_methods_report_every_step(client, sample, method):
    """Refine runs tune (the default search where tune is not offered): progress counts the
    search's steps, then the tuning's."""
    data, pixels, mask, hole = sample
    lines = client.post("/api/complete", files=files(data, mask),
                        data={"method": method, "progress": "true"}).text.splitlines()
    steps = search_settings(method).reported_steps()
    assert {json.loads(line)["steps"] for line in lines[:-1]} == {steps}
    assert json.loads(lines[-2])["step"] == steps
    final = json.loads(lines[-1])
    assert final["method"] == method
    assert_filled(decode(base64.b64decode(final["image"])), pixels, hole)


def test_a_128_px_run_finds_previews_and_completes_a_photo_s_face(tiny_run_128,
                                                                   celeba64_faces):
    """app.py --model at a 128 px run: its size in /api/info, a photo's face found, the instant
    preview and a fast completion at the photo's size through the run's face template, every
    pixel outside the hole as uploaded."""
    engine_128 = engine_lib.LocalEngine(loading.load(tiny_run_128[1].run_dir))
    photo = face_photo(celeba64_faces[0])
    data = png(photo)
    with TestClient(server.create_app(engine_128)) as client_128:
        assert client_128.get("/api/info").json()["image_size"] == 128
        faces = client_128.post("/api/faces", files=files(data)).json()["faces"]
        assert len(faces) == 1
        mask = face_mask(faces[0], photo.shape[:2])
        hole = mask == 0
        preview = client_128.post("/api/preview", files=files(data, png(mask)))
        assert preview.status_code == 200 and "X-Preview-Note" not in preview.headers
        assert np.abs(decode(preview.content)[~hole].astype(int) - photo[~hole]).mean() < 1
        completed = client_128.post("/api/complete", files=files(data, png(mask)),
                                    data={"method": "fast"})
        assert completed.status_code == 200, completed.text
        assert_filled(decode(completed.content), photo, hole)


def test_sample_photos_show_faces_as_large_whatever_the_model_s_size(engine):
    """The sample photos of a 128 px model place its faces over the photo pixels that a 64 px
    model's faces cover (the packaged model's faces, enlarged 2x, stand in for its faces)."""
    class Enlarged(engine_lib.LocalEngine):
        def generated_faces(self, count):
            faces = super().generated_faces(count)
            return np.repeat(np.repeat(faces, 2, axis=1), 2, axis=2)

    background = scenes.scene([], [], engine_lib.SAMPLE_SIZE)
    for small, large in zip(engine.samples(), Enlarged(engine.model).samples()):
        covered_small, covered_large = ((photo != background).any(-1) for photo in (small, large))
        assert covered_small.mean() > 0.3
        assert (covered_small != covered_large).mean() < 0.01


def test_a_generated_face_the_app_finds_no_face_in_is_not_a_sample(engine):
    """A model whose first generated face is a flat grey square (no face to find) offers the
    next faces as its samples, placed where the first ones go: the packaged model's own
    samples, whose four faces the app finds."""
    class GreyFirst(engine_lib.LocalEngine):
        def generated_faces(self, count):
            faces = super().generated_faces(count - 1)
            return np.concatenate([np.full_like(faces[:1], 128), faces])

    expected = engine.samples()
    for photo in expected:
        assert detect.detect_faces(photo).faces
    got = GreyFirst(engine.model).samples()
    assert len(got) == len(expected) == len(engine_lib.SAMPLE_PLACEMENTS)
    for photo, wanted in zip(got, expected):
        np.testing.assert_array_equal(photo, wanted)


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


def test_no_face_and_a_hole_away_from_the_face_are_filled_from_the_surroundings(client,
                                                                               sample):
    """A photo without a face and a hole away from the face: 200, every hole pixel filled
    from its surroundings (``X-Hole-Sources``), every other pixel as uploaded, and a note
    (``X-Fill-Note``) saying why no face's model filled it; the preview likewise."""
    data, pixels, mask, _ = sample
    y, x = np.mgrid[0:200, 0:300]
    plain = np.stack([x, y, x + y], axis=-1).astype(np.uint8)
    hole = face_mask({"box": [100, 50, 100, 100]}, (200, 300))
    response = client.post("/api/complete", files=files(png(plain), png(hole)))
    assert response.status_code == 200
    assert json.loads(response.headers["x-hole-sources"]) == {"faces": [], "classical": 1.0}
    assert response.headers["x-fill-note"] == ("no face found: the hole is filled from its "
                                               "surroundings")
    assert_filled(decode(response.content), plain, hole == 0)
    corner = np.full(pixels.shape[:2], 255, np.uint8)
    corner[:15, :15] = 0
    for endpoint in ("/api/complete", "/api/preview"):
        response = client.post(endpoint, files=files(data, png(corner)))
        assert response.status_code == 200
        assert response.headers["x-fill-note"] == ("the hole meets no face: it is filled "
                                                   "from its surroundings")
        assert json.loads(response.headers["x-hole-sources"])["classical"] == 1.0


def test_what_filled_the_hole_comes_with_every_answer(client, sample):
    """A hole half over the sample's face and half off it: the header (PNG and preview) and
    the NDJSON fields give each source's share, and sources=true adds the source map, whose
    labels cover exactly the hole; sources without progress is refused by name."""
    data, pixels, _, _ = sample
    faces = client.post("/api/faces", files=files(data)).json()["faces"]
    x, y, width, height = faces[0]["box"]
    mask = np.full(pixels.shape[:2], 255, np.uint8)
    mask[int(y + 0.5 * height):int(y + 0.7 * height), int(x + 0.6 * width):] = 0
    plain = client.post("/api/complete", files=files(data, png(mask)))
    shares = json.loads(plain.headers["x-hole-sources"])
    assert len(shares["faces"]) == 1 and shares["faces"][0] > 0.2 and shares["classical"] > 0.2
    assert sum(shares["faces"]) + shares["classical"] == pytest.approx(1.0, abs=1e-3)
    assert "x-fill-note" not in plain.headers
    assert_filled(decode(plain.content), pixels, mask == 0)
    preview = client.post("/api/preview", files=files(data, png(mask)))
    assert json.loads(preview.headers["x-hole-sources"]) == shares
    streamed = client.post("/api/complete", files=files(data, png(mask)),
                           data={"progress": "true", "sources": "true"})
    final = json.loads(streamed.text.splitlines()[-1])
    assert {"faces": final["faces"], "classical": final["classical"]} == shares
    assert final["note"] == "" and base64.b64decode(final["image"]) == plain.content
    labels = np.asarray(Image.open(io.BytesIO(base64.b64decode(final["sources"]))))
    assert labels.shape == pixels.shape[:2]
    assert set(np.unique(labels[mask == 0])) == {1, 255} and (labels[mask == 255] == 0).all()
    refused = client.post("/api/complete", files=files(data, png(mask)),
                          data={"sources": "true"})
    assert refused.status_code == 400 and refused.json()["detail"].startswith("sources:")


def test_a_faceless_photo_s_rejected_detections_are_reported_not_used(engine, monkeypatch):
    """A textured photo without a face, on which a stub detector reports a detection under
    the confidence threshold and a confident one whose box is far larger than its landmarks:
    /api/faces has no face and both rejected with their reasons, and a preview and a
    completion fill the hole from its surroundings with a note naming them. An app started
    with a lower --min_confidence takes the plausible one for a face."""
    rng = np.random.default_rng(33)
    texture = np.asarray(Image.fromarray(rng.integers(0, 256, (30, 40, 3), np.uint8)).resize(
        (400, 300), Image.BICUBIC))
    low, ghost = (60, 80, 70, 90), (200, 60, 160, 210)
    stub = StubDetector([detection_row(low, 0.62, face_landmarks(low)),
                         detection_row(ghost, 0.97, face_landmarks((250, 120, 40, 52)))])
    monkeypatch.setattr(detect, "_detector", lambda: stub)
    data = png(texture)
    mask = np.full(texture.shape[:2], 255, np.uint8)
    mask[100:200, 200:320] = 0
    with TestClient(server.create_app(engine)) as test_client:
        found = test_client.post("/api/faces", files=files(data)).json()
        preview = test_client.post("/api/preview", files=files(data, png(mask)))
        completion = test_client.post("/api/complete", files=files(data, png(mask)))
    assert found["faces"] == []
    assert [item["box"] for item in found["rejected"]] == [list(ghost), list(low)]
    assert [item["confidence"] for item in found["rejected"]] == [0.97, 0.62]
    ghost_reason, low_reason = (item["reason"] for item in found["rejected"])
    assert ghost_reason.startswith("the eyes are 0.11 of the box's width apart")
    assert low_reason == f"confidence 0.62 < {detect.MIN_CONFIDENCE:g}"
    note = f"no face found (not used: {ghost_reason}; {low_reason}): the hole is filled " \
           f"from its surroundings"
    assert preview.status_code == completion.status_code == 200
    assert preview.headers["X-Fill-Note"] == completion.headers["X-Fill-Note"] == note
    known = mask == 255
    np.testing.assert_array_equal(decode(completion.content)[known], texture[known])
    with TestClient(server.create_app(engine, Limits(min_confidence=0.6))) as test_client:
        lenient = test_client.post("/api/faces", files=files(data)).json()
    assert [face["box"] for face in lenient["faces"]] == [list(low)]
    assert [item["box"] for item in lenient["rejected"]] == [list(ghost)]


def test_a_body_over_the_limit_is_413_before_it_is_read(engine):
    small = server.create_app(engine, Limits(max_upload_bytes=10_000))
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
    """An engine whose completions step (reporting each step to ``progress``) until
    ``release``, for at most ``STEPS`` steps of 10 ms, then fill the hole with stripes whose
    period is the request's seed (so answers cannot be mixed up unnoticed)."""

    source, image_size, methods = "blocking", 64, ("instant", "fast")
    STEPS = 10_000

    def __init__(self, real: engine_lib.LocalEngine):
        self.real, self.release, self.started = real, threading.Event(), threading.Event()

    def completer(self, method, seed=0, progress=None):
        def complete_crops(crops, masks):
            self.started.set()
            for step in range(1, self.STEPS + 1):
                if progress is not None:
                    progress(step, self.STEPS)
                if self.release.wait(0.01):
                    break
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
    app = server.create_app(blocking, Limits(complete_queue=2))
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


def test_queued_requests_of_gone_clients_give_their_places_back(engine, sample):
    """A queue of 3 with one completion running: two clients queue theirs and disconnect;
    the two places they held take two new requests, which get 200, not 503."""
    data, _, mask, _ = sample
    blocking = _BlockingEngine(engine)
    app = server.create_app(blocking, Limits(complete_queue=3))
    lane = app.state.complete_lane
    with serving(app) as url, concurrent.futures.ThreadPoolExecutor(3) as pool:
        post = lambda seed: httpx2.post(  # noqa: E731
            f"{url}/api/complete", files=files(data, mask), data={"seed": str(seed)},
            timeout=120)
        running = pool.submit(post, 10)
        assert blocking.started.wait(timeout=60)
        gone = [send_unread(url, "/api/complete", files(data, mask), {"seed": str(seed)})
                for seed in (20, 30)]
        wait_until(lambda: lane.jobs == 3)
        for connection in gone:
            connection.close()
        wait_until(lambda: lane.jobs == 1)
        later = [pool.submit(post, seed) for seed in (40, 50)]
        wait_until(lambda: lane.jobs == 3)
        blocking.release.set()
        answers = [future.result(timeout=120) for future in (running, *later)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]


@pytest.mark.parametrize("progress", [False, True], ids=["png", "ndjson"])
def test_a_gone_client_stops_its_search_and_frees_the_worker(engine, sample, progress):
    """A client that disconnects during its completion: the search stops at its next step
    (it would step for 100 s), and the next request is answered."""
    data, _, mask, _ = sample
    blocking = _BlockingEngine(engine)
    app = server.create_app(blocking)
    fields = {"progress": "true"} if progress else {}
    with serving(app) as url:
        gone = send_unread(url, "/api/complete", files(data, mask), {"seed": "10", **fields})
        assert blocking.started.wait(timeout=60)
        gone.close()
        wait_until(lambda: app.state.complete_lane.jobs == 0)
        blocking.release.set()
        answer = httpx2.post(f"{url}/api/complete", files=files(data, mask),
                             data={"seed": "20"}, timeout=120)
    assert answer.status_code == 200


def test_a_gone_client_stops_the_model_s_search(engine, sample):
    """Through ``search.complete``: the default search (300 steps) of a client that
    disconnects at its first step ends long before its last step."""
    data, _, mask, _ = sample
    steps, first_step, closed = [], threading.Event(), threading.Event()

    class Watched(_CountingEngine):
        def completer(self, method, seed=0, progress=None):
            def watched(step, total):
                steps.append(step)
                first_step.set()
                assert closed.wait(timeout=60)
                progress(step, total)
            return self.real.completer(method, seed, watched)

    app = server.create_app(Watched(engine))
    with serving(app) as url:
        gone = send_unread(url, "/api/complete", files(data, mask), {"method": "default"})
        assert first_step.wait(timeout=120)
        gone.close()
        closed.set()
        wait_until(lambda: app.state.complete_lane.jobs == 0)
    assert 1 <= max(steps) < 300


def test_face_detection_does_not_hold_up_previews(engine, sample, monkeypatch):
    """/api/faces has its own lane: a preview is answered while a detection is running."""
    data, _, mask, _ = sample
    detecting, release, real = threading.Event(), threading.Event(), detect.detect_faces

    def detect_faces(pixels, *args, **kwargs):
        if pixels.shape[:2] == (200, 300):  # the other photo
            detecting.set()
            assert release.wait(timeout=60)
        return real(pixels, *args, **kwargs)

    monkeypatch.setattr(detect, "detect_faces", detect_faces)
    other = png(np.full((200, 300, 3), 128, np.uint8))
    with TestClient(server.create_app(engine)) as test_client, \
            concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert test_client.post("/api/faces", files=files(data)).status_code == 200
        faces = pool.submit(test_client.post, "/api/faces", files=files(other))
        assert detecting.wait(timeout=60)
        assert test_client.post("/api/preview", files=files(data, mask)).status_code == 200
        assert not faces.done()
        release.set()
        assert faces.result(timeout=60).json()["faces"] == []


def test_two_lanes_detect_a_photo_s_faces_once(engine, sample, monkeypatch):
    """/api/faces and a preview of a new photo at the same time: the second waits for the
    first's detection instead of running its own."""
    data, _, mask, _ = sample
    detections, asked, release = [], [], threading.Event()
    real_detect, real_faces = detect.detect_faces, photo_cache.PhotoCache.detections

    def detect_faces(pixels, *args, **kwargs):
        detections.append(pixels.shape)
        assert release.wait(timeout=60)
        return real_detect(pixels, *args, **kwargs)

    def cached_detections(cache, entry):
        asked.append(entry)
        return real_faces(cache, entry)

    monkeypatch.setattr(detect, "detect_faces", detect_faces)
    monkeypatch.setattr(photo_cache.PhotoCache, "detections", cached_detections)
    with TestClient(server.create_app(engine)) as test_client, \
            concurrent.futures.ThreadPoolExecutor(2) as pool:
        found = pool.submit(test_client.post, "/api/faces", files=files(data))
        wait_until(lambda: detections)
        preview = pool.submit(test_client.post, "/api/preview", files=files(data, mask))
        wait_until(lambda: len(asked) == 2)
        release.set()
        assert found.result(timeout=60).status_code == 200
        assert preview.result(timeout=60).status_code == 200
    assert len(detections) == 1 and asked[0] is asked[1]


def test_a_bad_mask_is_refused_before_faces_are_looked_for(engine, sample, monkeypatch):
    data, _, _, _ = sample
    detections = []
    monkeypatch.setattr(detect, "detect_faces", lambda *args, **kwargs: detections.append(1))
    with TestClient(server.create_app(engine)) as test_client:
        for mask in (b"GIF89a", png(np.zeros((10, 20), np.uint8))):
            response = test_client.post("/api/preview", files=files(data, mask))
            assert response.status_code == 400 and "mask" in response.json()["detail"]
    assert detections == []


def test_the_pixel_cap_and_the_photo_cache_s_bytes(engine, client):
    """A photo over ``max_pixels`` is refused before it is decoded; the cache keeps at most
    ``photo_cache_bytes`` of pixels, except the photo in use."""
    photos = [client.get(f"/api/samples/{index}").content for index in range(4)]
    one = 320 * 320 * 3  # bytes of a sample's pixels
    capped = server.create_app(engine, Limits(max_pixels=320 * 320 - 1))
    with TestClient(capped) as test_client:
        response = test_client.post("/api/faces", files=files(photos[0]))
        assert response.status_code == 400
        assert "image: 320x320 pixels is more than the 102,399 allowed" in response.text
        assert test_client.get("/api/info").json()["max_pixels"] == 320 * 320 - 1
    for budget, kept in ((2 * one, 2 * one), (1, one)):
        app = server.create_app(engine, Limits(photo_cache_bytes=budget))
        with TestClient(app) as test_client:
            for photo in photos:
                assert test_client.post("/api/faces", files=files(photo)).status_code == 200
        assert app.state.photos.nbytes == kept


class _FailingEngine(engine_lib.Engine):
    """An engine whose completions fail with an error naming server internals."""

    source, image_size, methods = "failing", 64, ("fast",)

    def __init__(self, real: engine_lib.LocalEngine):
        self.real = real

    def completer(self, method, seed=0, progress=None):
        def complete_crops(crops, masks):
            raise RuntimeError("secret: /srv/models/celeba64 exploded")
        return photo_lib.CropCompleter(self.real.completer("fast").template, 64, complete_crops)

    def generated_faces(self, count):
        return self.real.generated_faces(count)


def test_an_unexpected_error_answers_500_with_a_request_id_only(engine, sample, caplog):
    data, _, mask, _ = sample
    with TestClient(server.create_app(_FailingEngine(engine))) as test_client, \
            caplog.at_level(logging.ERROR, logger="dcgan_tf.app"):
        plain = test_client.post("/api/complete", files=files(data, mask))
        streamed = test_client.post("/api/complete", files=files(data, mask),
                                    data={"progress": "true"})
    assert plain.status_code == 500 and "secret" not in plain.text
    request_id = plain.json()["request_id"]
    assert plain.headers["x-request-id"] == request_id
    assert f"internal error (request id {request_id})" in plain.json()["detail"]
    final = json.loads(streamed.text.splitlines()[-1])
    assert final["status"] == 500 and "secret" not in streamed.text
    assert final["request_id"] in final["error"] and final["request_id"] != request_id
    for logged_id in (request_id, final["request_id"]):
        assert f"(request id {logged_id})" in caplog.text
    assert caplog.text.count("secret: /srv/models/celeba64 exploded") >= 2


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
    with caplog.at_level(logging.INFO, logger="dcgan_tf.app"):
        server.create_app(warmed, warm_up=True)
        server.create_app(cold)
    assert warmed.asked == ["instant", "fast"] and cold.asked == []
    assert "Preview warmed up" in caplog.text and "Completion (fast) warmed up" in caplog.text
    assert "completed nothing" not in caplog.text
