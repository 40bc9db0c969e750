"""Training throughput of one process versus N local MultiWorkerMirroredStrategy workers
(``python -m dcgan_tf.training.launch``) on this machine, same global batch and model.

On one machine the workers share the same cores, so no speed-up is expected: the figure is the
overhead of the collective all-reduce and of running N processes. Each configuration runs
``train.py`` for a few epochs of fixed length; the time per step is read from Keras' epoch lines,
skipping the first epoch (tracing and start-up). Rounds alternate between the two so machine
noise hits both.

    python bench/multi_worker_throughput.py [--workers 2] [--filters 32] [--batch 64]
        [--steps 20] [--epochs 3] [--rounds 2] [--threads_per_worker 1] [--local_batchnorm]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def seconds_per_step(command: list[str]) -> float:
    """Runs a training command; mean seconds per step over its epochs after the first."""
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    output = run.stdout + run.stderr
    if run.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{output[-3000:]}")
    # Every worker prints the same epoch lines: keep the chief's.
    prefix = r"\[worker 0\] .*" if "[worker 0]" in output else ""
    times = [float(value) * (1e-3 if unit == "ms" else 1.0) for value, unit in
             re.findall(prefix + r"- (\d+(?:\.\d+)?)(ms|s)/step", output)]
    if len(times) < 2:
        raise SystemExit(f"no per-epoch timings in the output of {' '.join(command)}")
    return statistics.mean(times[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--local_batchnorm", action="store_true",
                        help="train with --nosync_batchnorm (per-replica BatchNorm statistics)")
    parser.add_argument("--threads_per_worker", type=int, default=0,
                        help="passed to the launcher (0 = TensorFlow's default)")
    args = parser.parse_args()
    train = ["train.py", "--data=synthetic", f"--synthetic_images={args.batch * args.steps}",
             f"--g_filters={args.filters}", f"--d_filters={args.filters}",
             f"--batch_size={args.batch}", f"--steps_per_epoch={args.steps}",
             f"--epochs={args.epochs}", "--checkpoint_every=100000", "--sample_every=100000",
             f"--{'no' if args.local_batchnorm else ''}sync_batchnorm"]
    results = {"1 process": [], f"{args.workers} workers": []}
    with tempfile.TemporaryDirectory() as scratch:
        for round_index in range(args.rounds):
            single = [sys.executable, *train, "--strategy=default",
                      f"--run_dir={scratch}/single-{round_index}"]
            multi = [sys.executable, "-m", "dcgan_tf.training.launch", f"--workers={args.workers}",
                     "--max_restarts=0", f"--threads_per_worker={args.threads_per_worker}",
                     "--", *train, "--strategy=multi_worker",
                     f"--run_dir={scratch}/multi-{round_index}"]
            results["1 process"].append(seconds_per_step(single))
            results[f"{args.workers} workers"].append(seconds_per_step(multi))
    print(f"64x64 DCGAN, widths {args.filters}, global batch {args.batch}, "
          f"{args.steps} steps x {args.epochs - 1} timed epochs, {args.rounds} rounds, "
          f"threads per worker {args.threads_per_worker or 'default'}, "
          f"{'per-replica' if args.local_batchnorm else 'synchronized'} BatchNorm")
    base = None
    for name, values in results.items():
        step = statistics.median(values)
        base = base or step
        print(f"{name:>12}: {args.batch / step:7.1f} images/s  ({step * 1e3:.0f} ms/step, "
              f"{step / base:.2f}x the one-process step time)")


if __name__ == "__main__":
    main()
