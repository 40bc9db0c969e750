"""Export a trained DCGAN as a SavedModel that TF Serving loads, with generate, discriminate and
complete signatures (the whole z-optimisation and blending run inside the graph).

Examples:
  # The run `python train.py` just made -> export/dcgan/<next version>/ (no --model: celeba64):
  python export.py --model=latest
  # A given run, as version 3 of the model "faces", keeping the 2 newest versions:
  python export.py --model=runs/00001-celeba_train-64 --model_name=faces --version=3 --keep=2
  # Also write export/models.config for a server that mounts export/ at /models:
  python export.py --models_config
  # Serve it (see the README for curl examples of every signature):
  docker run -p 8501:8501 -v "$PWD/export:/models" -e MODEL_NAME=dcgan tensorflow/serving
"""

import logging as python_logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from absl import app, flags, logging  # noqa: E402

from dcgan_tf.inpainting import settings as search_config  # noqa: E402
from dcgan_tf.serving import specs  # noqa: E402

_SEARCH = search_config.SearchSettings()
FLAGS = flags.FLAGS

flags.DEFINE_string("model", "", specs.MODEL_HELP)
flags.DEFINE_string("runs_dir", "runs", "Where --model=latest looks for runs.")
flags.DEFINE_string("export_base", "export", "The folder TF Serving watches.")
flags.DEFINE_string("model_name", "dcgan", "Model name: <export_base>/<model_name>/<version>/.")
flags.DEFINE_integer("version", 0, "Version number; 0 = one more than the newest.")
flags.DEFINE_integer("keep", 0, "> 0: delete all but the newest N versions afterwards.")
flags.DEFINE_bool("models_config", False,
                  "Write <export_base>/models.config listing every exported model.")
flags.DEFINE_string("serving_base", "/models",
                    "--models_config: where the server sees <export_base> (docker mount).")
flags.DEFINE_enum("method", _SEARCH.method, search_config.METHODS,
                  "Completion settings baked into the complete signatures (as complete.py's "
                  "--method); bamos, fast and tune set --steps themselves.")
flags.DEFINE_integer("steps", _SEARCH.steps,
                     "Steps of the complete signature (complete_with_options takes any).")
flags.DEFINE_integer("restarts", _SEARCH.restarts, "Starts per image in the served completion.")
flags.DEFINE_enum("blend", _SEARCH.blend, search_config.BLENDS, "Blending in the served graph.")
# The search flags of this script; the rest of the settings are the --method preset's.
_SEARCH_FLAGS = ("steps", "restarts", "blend")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        settings = search_config.search_settings(
            FLAGS.method, **{name: FLAGS[name].value for name in _SEARCH_FLAGS
                             if FLAGS[name].present})
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    logging.set_verbosity(logging.WARNING)
    python_logging.getLogger("dcgan_tf").setLevel(python_logging.INFO)
    from dcgan_tf.serving import export as export_lib
    try:
        path = export_lib.export(FLAGS.model, runs_dir=FLAGS.runs_dir,
                                 export_base=FLAGS.export_base, model_name=FLAGS.model_name,
                                 version=FLAGS.version, keep=FLAGS.keep, settings=settings)
        print(f"Exported: {path}")
        if FLAGS.models_config:
            config_path = export_lib.write_models_config(FLAGS.export_base, FLAGS.serving_base)
            print(f"Model config: {config_path}")
    except ValueError as error:
        logging.error("%s", error)
        sys.exit(1)
    print(f"Signatures: saved_model_cli show --dir {path} --all")


def run_main():
    """Console entry point ``dcgan-export``."""
    sys.modules["__main__"].__doc__ = __doc__
    app.run(main)


if __name__ == "__main__":
    run_main()
