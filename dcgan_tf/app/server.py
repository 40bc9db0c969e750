"""The web app (``app.py``): ``create_app`` assembles the FastAPI app from its handlers
(``routes``), error answers (``errors``), photo cache (``photos``) and lanes (a worker and a
bounded queue each for faces, previews and completions, so face detection does not hold up
previews); ``routes`` documents the API.
"""

import fastapi
from fastapi import staticfiles

from dcgan_tf.app import errors, jobs, routes
from dcgan_tf.app.engine import Engine
from dcgan_tf.app.lanes import Lane
from dcgan_tf.app.limits import Limits
from dcgan_tf.app.photos import PhotoCache


def create_app(engine: Engine, limits: Limits = Limits(), warm_up: bool = False
               ) -> fastapi.FastAPI:
    """The app completing photos with ``engine``; ``limits`` bound its uploads, photos, cache
    and queues. ``warm_up``: preview and complete a sample photo before returning
    (``jobs.warm_up``), so the first user's preview does not wait for the face detector's and
    the encoder's first calls (about 1.5 s), nor the first completion for the search's and
    the Poisson solver's (about 1 s more)."""
    app = fastapi.FastAPI(title="dcgan_tf completion",
                          description="Paint a hole in a face photo and have a DCGAN fill it.")
    errors.install(app, limits)
    state = app.state
    state.engine, state.limits, state.photos = engine, limits, PhotoCache(limits)
    state.faces_lane = Lane("faces", limits.faces_queue)
    state.preview_lane = Lane("preview", limits.preview_queue)
    state.complete_lane = Lane("complete", limits.complete_queue)
    state.samples = [jobs.png(sample) for sample in engine.samples()]
    if warm_up:
        jobs.warm_up(state.photos, engine, state.samples[0])
    app.include_router(routes.router)
    app.mount("/static", staticfiles.StaticFiles(directory=routes.STATIC_DIR), name="static")
    for lane in (state.faces_lane, state.preview_lane, state.complete_lane):
        app.router.add_event_handler("shutdown", lane.shutdown)
    return app
