"""The web app: open a face photo, paint the hole, watch a live preview, complete, download.

Examples:
  # The packaged model on http://127.0.0.1:8080 (only this machine can reach it):
  python app.py
  # A run of yours, reachable from the network (no authentication: mind who can reach it):
  python app.py --model=runs/00001-celeba_train-64 --host=0.0.0.0 --port=8000
  # Completions by TF Serving (an export made with export.py), photos handled here:
  python app.py --server=http://localhost:8501/v1/models/dcgan
The API is documented at http://127.0.0.1:8080/docs.
"""

import logging as python_logging
import os
import socket
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from absl import app, flags, logging  # noqa: E402

from dcgan_tf import pretrained  # noqa: E402  (no TensorFlow)
from dcgan_tf.app.limits import Limits  # noqa: E402  (no TensorFlow)
from dcgan_tf.checks import check_range  # noqa: E402  (no TensorFlow)
from dcgan_tf.data import decode  # noqa: E402  (no TensorFlow)

FLAGS = flags.FLAGS
_DEFAULTS = Limits()

flags.DEFINE_string("host", "127.0.0.1",
                    "Address to listen on; 127.0.0.1 lets only this machine in.")
flags.DEFINE_integer("port", 8080, "Port to listen on; 0 = any free port.")
flags.DEFINE_string("model", pretrained.DEFAULT_MODEL,
                    "Packaged model, run folder, checkpoint prefix or SavedModel folder. A run "
                    "completes photos when it has a face template (trained with --crop=align, "
                    "or measured with tools/measure_template.py) and, for the preview and "
                    "Complete, an encoder (train.py --encoder).")
flags.DEFINE_string("server", "",
                    "TF Serving REST URL of an export (http://HOST:8501/v1/models/NAME): "
                    "completions run there instead of in this process.")
flags.DEFINE_integer("max_upload_mb", _DEFAULTS.max_upload_bytes // 1_000_000,
                     "Largest request body (photo and mask), in MB.")
flags.DEFINE_float("max_megapixels", _DEFAULTS.max_pixels / 1e6,
                   f"Largest photo, in millions of pixels (at most "
                   f"{decode.MAX_PIXELS / 1e6:g}); larger ones get 400 before they are "
                   f"decoded. The app's memory grows with it: at 24 it stays under 2 GB with "
                   f"every queue full of such photos.")
flags.DEFINE_integer("queue", _DEFAULTS.complete_queue,
                     "Completions waiting or running before a 503.")
flags.DEFINE_float("min_confidence", _DEFAULTS.min_confidence,
                   "The face detector's confidence below which a detection is not used as a "
                   "face (/api/faces lists it under \"rejected\" with the reason).")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if FLAGS.server and FLAGS["model"].present:
        raise app.UsageError("give --model or --server, not both")
    try:
        check_range("port", FLAGS.port, 0, 65535)
        limits = Limits.from_flags(max_upload_mb=FLAGS.max_upload_mb,
                                   max_megapixels=FLAGS.max_megapixels, queue=FLAGS.queue,
                                   min_confidence=FLAGS.min_confidence)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    logging.set_verbosity(logging.WARNING)
    python_logging.getLogger("dcgan_tf").setLevel(python_logging.INFO)
    import uvicorn

    from dcgan_tf.app import engine as engine_lib, server
    try:
        engine = _engine(engine_lib)
        web_app = server.create_app(engine, limits, warm_up=True)
    except ValueError as error:
        logging.error("%s", error)
        sys.exit(1)
    try:
        listening = _listen(FLAGS.host, FLAGS.port)
    except OSError as error:
        logging.error("--host %s --port %d: cannot listen there (%s)", FLAGS.host, FLAGS.port,
                      error.strerror or error)
        sys.exit(1)
    host, port = listening.getsockname()[:2]
    print(f"Completing with {engine.source} ({', '.join(engine.methods)}) on "
          f"http://{'[' + host + ']' if ':' in host else host}:{port}/", flush=True)
    uvicorn.Server(uvicorn.Config(web_app, log_level="warning")).run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port`` (0 = a free port), so the address printed is
    the one listened on, and a client connecting while the server starts waits in its
    backlog."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # With proto left at 0, asyncio would not set TCP_NODELAY on the accepted connections, and
    # a reply on a kept-alive connection would wait ~40 ms for a delayed ACK.
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind((host, port))
    listening.listen(2048)  # uvicorn's default backlog
    return listening


def _engine(engine_lib):
    """The engine the flags ask for."""
    from dcgan_tf.serving import clients, loading, specs
    if FLAGS.server:
        return engine_lib.ServedEngine(clients.RestCompleter(FLAGS.server), FLAGS.server)
    if specs.is_saved_model(FLAGS.model):
        return engine_lib.ServedEngine(clients.SavedModelCompleter(FLAGS.model), FLAGS.model)
    return engine_lib.LocalEngine(loading.load(FLAGS.model))


def run_main():
    """Console entry point ``dcgan-app``."""
    sys.modules["__main__"].__doc__ = __doc__
    app.run(main)


if __name__ == "__main__":
    run_main()
