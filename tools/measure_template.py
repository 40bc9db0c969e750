"""Measure where a model's training crops put the five face landmarks, and record it with the
model (``face_template`` in its config.json), so ``complete.py --align`` can frame photos the way
the model learned faces.

    python tools/measure_template.py --data=../shared/data/celeba_train.zip --crop=celeba \\
        --num_images=1000 --model=dcgan_tf/pretrained/celeba64

MTCNN finds the landmarks on each whole training image; they are expressed relative to the
image's training crop (``--crop``) and averaged. Use the model's own training data: the template
is its framing.
"""

import argparse
import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from dcgan_tf.data import crops, decode, pipeline  # noqa: E402
from dcgan_tf.models import runs  # noqa: E402
from dcgan_tf.photo import align, detect  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the model's training images (zip/folder)")
    parser.add_argument("--crop", default="",
                        help="the model's training crop preset (default: its config's)")
    parser.add_argument("--num_images", type=int, default=1000)
    parser.add_argument("--model", required=True, help="run folder or packaged model folder")
    args = parser.parse_args()
    config = runs.load_config(args.model)
    if config is None:
        parser.error(f"--model {args.model} has no {runs.CONFIG_FILE}")
    crop = args.crop or config.crop
    if crop not in crops.CROPS:  # "align": the run's faces are framed by its --align_framing
        parser.error(f"--crop must be one of {', '.join(crops.CROPS)}; got {crop!r}")
    landmarks, boxes, missed = [], [], 0
    for name, encoded in pipeline.read_encoded(args.data, args.num_images):
        photo = decode.read_rgb(encoded, name)
        faces = detect.detect_faces(photo).faces
        if not faces:
            missed += 1
            continue
        top, left, _, width = (int(v) for v in crops.region_box(*photo.shape[:2], crop))
        landmarks.append(faces[0].landmarks)
        boxes.append([left, top, width])
    relative = align.relative_landmarks(np.array(landmarks), np.array(boxes, float))
    template, spread = relative.mean(axis=0), relative.std(axis=0)
    runs.save_config(args.model, dataclasses.replace(
        config, face_template=tuple(round(float(v), 5) for v in template.reshape(-1))))
    print(f"{len(landmarks)} faces found ({missed} images without one) in {args.data}, "
          f"--crop={crop}")
    for landmark, (x, y), (sx, sy) in zip(align.LANDMARKS, template, spread):
        print(f"  {landmark:12s} x {x:.4f} (sd {sx:.4f})  y {y:.4f} (sd {sy:.4f})")
    print(f"Written to {os.path.join(args.model, runs.CONFIG_FILE)}")


if __name__ == "__main__":
    main()
