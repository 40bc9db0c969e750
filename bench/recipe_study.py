"""The training-recipe study: each configuration trained for the same budget on CelebA (64x64 or
--image_size, same seed, one at a time), then FID and KID of its generator against the
validation split (N = 2,720 generated and real): the figures reported. The best combination is
chosen on another slice, the FID against 2,720 training faces (``fid_train``), so the reported
set plays no part in the choice.

    python bench/recipe_study.py --out=/work/scratch/study \\
        [--data=../shared/data/celeba_train.zip] [--real=../shared/data/celeba_valid.zip] \\
        [--inception=../shared/models/inception_v3_fid.weights.h5] [--minutes=40] \\
        [--configs=baseline,ttur,...] [--combine=best:ttur+augment | --combine=best:auto]

    # 128 px (issue 30): celeba64's recipe at two widths, with and without augmentation
    python bench/recipe_study.py --out=/work/scratch/study128 --image_size=128 \
        --crop=celeba_face --cpu_minutes=60 --configs=average \
        --combine=average_augment:average+augment --combine=average_w48:average+width48 \
        --combine=average_w48_augment:average+width48+augment \
        --combine=average_augment_bf16:average+augment+bfloat16

The budget is wall-clock time (--minutes: run it on an otherwise idle machine), or the training
process's own CPU time (--cpu_minutes: fair to each configuration on a machine shared with other
work; 2 busy cores for 30 minutes are 60 CPU-minutes). It can be stopped (Ctrl-C,
SIGTERM) and started again with the same --out: a configuration stopped half-way is resumed
(``train.py --run_dir``) for the rest of its budget, finished ones are not trained again. The
budget used is recorded at every checkpoint, so even a killed study resumes from a checkpoint
with the time it had used. Each
run writes TensorBoard logs (with --fid_every FID along the way against 1,000 training faces,
and completion previews) in ``<out>/<name>/``; ``<out>/study.json`` holds the state and results and
``<out>/table.md`` the tables (the figures at the end, and FID along the way).
"""

import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared")
# The configurations: today's default, each option alone, wider networks (add combinations
# with --combine).
CONFIGS = {
    "baseline": [],
    "ttur": ["--g_learning_rate=1e-4", "--d_learning_rate=4e-4"],
    "augment": ["--augment=translation,cutout,color"],
    "spectral": ["--d_norm=spectral"],
    "hinge": ["--d_loss=hinge", "--g_loss=hinge"],
    "average": ["--g_ema_kimg=10"],
    "width48": ["--g_filters=48", "--d_filters=48"],
    "width64": ["--g_filters=64", "--d_filters=64"],
    # bfloat16 compute (weights stay float32): oneDNN's AVX512_BF16 kernels on these CPUs ran a
    # 128 px step ~1.6x faster than float32 (30 steps each, alternated, on the shared machine)
    "bfloat16": ["--mixed_precision=bfloat16"],
}
FID_EVERY = 2500  # steps between FIDs along the way (1,000 samples)
MIN_RESUME_SECONDS = 120
AUTO = "auto"  # --combine=NAME:auto
POLL_SECONDS = 10  # how often a run is checked for a new checkpoint
SELECTION_IMAGES = 2720  # training faces the selection FID compares with


class Stop(Exception):
    """The study was asked to stop (SIGINT/SIGTERM)."""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder of the runs and results")
    parser.add_argument("--data", default=os.path.join(SHARED, "data", "celeba_train.zip"))
    parser.add_argument("--real", default=os.path.join(SHARED, "data", "celeba_valid.zip"))
    parser.add_argument("--inception",
                        default=os.path.join(SHARED, "models", "inception_v3_fid.weights.h5"))
    parser.add_argument("--minutes", type=float, default=40.0,
                        help="budget of each run in wall-clock minutes")
    parser.add_argument("--cpu_minutes", type=float, default=0.0,
                        help="instead: budget of each run in CPU-minutes of its process")
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--crop", default="celeba", help="crop of the training and real faces")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--combine", action="append", default=[],
                        help="NAME:A+B+...: a configuration with the flags of A, B, ...; "
                        "NAME:auto: with the flags of every configuration that beat the "
                        "baseline's FID against training faces")
    parser.add_argument("--max_real", type=int, default=0,
                        help="evaluate on this many real images; 0 = all (the study's N)")
    args = parser.parse_args()
    configs = dict(CONFIGS)
    for combination in args.combine:
        name, parts = combination.split(":")
        configs[name] = None if parts == AUTO else [
            flag for part in parts.split("+") for flag in CONFIGS[part]]
    names = args.configs.split(",") + [c.split(":")[0] for c in args.combine]
    unknown = [name for name in names if name not in configs]
    if unknown:
        raise SystemExit(f"--configs: unknown {unknown}; known: {sorted(configs)}")

    os.makedirs(args.out, exist_ok=True)
    state_path = os.path.join(args.out, "study.json")
    state = json.load(open(state_path)) if os.path.exists(state_path) else {}

    def stop(signum, frame):
        raise Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for name in names:
            flags = configs[name]
            if flags is None:
                flags = winners_combined(state, [n for n in names if n in CONFIGS])
                if flags is None:
                    print(f"{name}: fewer than two configurations beat the baseline; nothing "
                          f"to combine", flush=True)
                    continue
            entry = state.setdefault(name, {"flags": flags, "seconds": 0.0})
            if entry["flags"] != flags:
                raise SystemExit(f"{name}: its flags changed since {state_path} was written")
            if "trained" not in entry:
                train(args, name, entry, lambda: save(state_path, state))
            if "fid" not in entry:
                evaluate(args, name, entry)
            save(state_path, state)
            write_table(args, state, names)
    except Stop:
        print("Stopped; run the same command to go on.", flush=True)
    finally:
        save(state_path, state)


def winners_combined(state: dict, names: list) -> list | None:
    """The flags of every configuration in ``names`` whose FID against training faces beat the
    baseline's, the better configuration's value first where two set the same flag (two widths);
    None when fewer than two beat it."""
    baseline = state["baseline"]["fid_train"]
    winners = sorted((state[name] for name in names if name != "baseline"
                      and state.get(name, {}).get("fid_train", baseline) < baseline),
                     key=lambda entry: entry["fid_train"])
    if len(winners) < 2:
        return None
    flags = {}
    for entry in winners:
        for flag in entry["flags"]:
            flags.setdefault(flag.split("=")[0], flag)
    return sorted(flags.values())


def train(args, name: str, entry: dict, checkpoint_state) -> None:
    """Trains (or resumes) ``name`` until its budget is spent, then records its steps."""
    run_dir = os.path.join(args.out, name)
    command = [sys.executable, os.path.join(REPO, "train.py"), f"--data={args.data}",
               f"--crop={args.crop}", f"--image_size={args.image_size}", f"--run_dir={run_dir}",
               "--seed=0", "--epochs=100000",
               "--checkpoint_every=500", "--sample_every=1000", f"--fid_every={FID_EVERY}",
               f"--fid_inception={args.inception}", *entry["flags"]]
    budget_key = "cpu_seconds" if args.cpu_minutes else "seconds"
    budget = 60 * (args.cpu_minutes or args.minutes)
    entry.setdefault("cpu_seconds", 0.0)
    remaining = budget - entry[budget_key]
    if entry[budget_key] and remaining < MIN_RESUME_SECONDS:  # spent reading the data set
        entry["trained"], entry["steps"] = True, steps_of(run_dir)
        return
    unit = "CPU-minutes" if args.cpu_minutes else "minutes"
    print(f"{name}: training for {remaining / 60:.1f} more {unit}: {' '.join(command)}",
          flush=True)
    with open(os.path.join(args.out, f"{name}.log"), "a") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        used = {key: entry[key] for key in ("seconds", "cpu_seconds")}
        start = time.monotonic()

        def record():  # the budget used so far: wall-clock and the process's CPU time
            entry["seconds"] = used["seconds"] + time.monotonic() - start
            cpu = cpu_seconds(process.pid)
            if cpu is not None:
                entry["cpu_seconds"] = used["cpu_seconds"] + cpu

        checkpoint = checkpoint_time(run_dir)
        try:
            while process.poll() is None and entry[budget_key] - used[budget_key] < remaining:
                time.sleep(POLL_SECONDS)
                if checkpoint_time(run_dir) != checkpoint:  # the budget used is what it holds
                    checkpoint = checkpoint_time(run_dir)
                    record()
                    checkpoint_state()
                elif process.poll() is None:
                    record()
        except Stop:
            record()
            finish(process)
            checkpoint_state()
            raise
        record()
        finish(process)
    entry["steps"] = steps_of(run_dir)  # before "trained": a state saved with one has both
    entry["trained"] = True


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process, all its threads (Linux /proc); None once it has
    been reaped."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def checkpoint_time(run_dir: str) -> float:
    """When the run last wrote a checkpoint (0 before its first)."""
    path = os.path.join(run_dir, "checkpoints", "checkpoint")
    return os.path.getmtime(path) if os.path.exists(path) else 0.0


def finish(process: subprocess.Popen) -> None:
    """Stops a training process the way Ctrl-C does: it saves a checkpoint and exits (killed if
    it has not exited 5 minutes after: a stop while it was still reading the data set has been
    seen to leave it running after it said "Finished")."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def steps_of(run_dir: str) -> int:
    """The training step of a run's newest checkpoint."""
    from dcgan_tf.serving import loading
    return loading.load(run_dir).step


def evaluate(args, name: str, entry: dict) -> None:
    """FID and KID of ``name``'s generator against --real, N = all of it (2,720), and the FID
    against as many training faces (the slice the best combination is chosen on)."""
    results = {}
    for key, real, count in (("valid", args.real, args.max_real),
                             ("train", args.data, args.max_real or SELECTION_IMAGES)):
        output = os.path.join(args.out, name, f"evaluation-{key}.json")
        subprocess.run([sys.executable, os.path.join(REPO, "evaluate.py"),
                        f"--model={os.path.join(args.out, name)}", f"--real={real}",
                        f"--crop={args.crop}", f"--inception={args.inception}",
                        f"--max_real={count}", f"--output={output}"], check=True, cwd=REPO)
        results[key] = json.load(open(output))
    entry["fid"], entry["kid"] = results["valid"]["fid"], results["valid"]["kid"]
    entry["fid_train"] = results["train"]["fid"]


def write_table(args, state: dict, names: list) -> None:
    baseline = state.get("baseline", {}).get("fid")
    rate_key, rate_name = (("cpu_seconds", "images per CPU-s") if args.cpu_minutes
                           else ("seconds", "images/s"))
    lines = [f"| configuration | flags | steps | {rate_name} | FID | KID x 1000 | FID vs baseline "
             "| FID (train faces) |", "|---|---|---|---|---|---|---|---|"]
    for name in names:
        entry = state.get(name, {})
        if "fid" not in entry:
            continue
        with open(os.path.join(args.out, name, "config.json")) as handle:
            batch = json.load(handle)["batch_size"]
        rate = entry["steps"] * batch / entry[rate_key]
        versus = f"{entry['fid'] - baseline:+.1f}" if baseline is not None else "-"
        lines.append(f"| {name} | `{' '.join(entry['flags']) or '(defaults)'}` | "
                     f"{entry['steps']:,} | {rate:.1f} | {entry['fid']:.1f} | "
                     f"{1000 * entry['kid']:.1f} | {versus} | {entry['fid_train']:.1f} |")
    table = "\n".join(lines) + "\n"
    curves = {name: fid_curve(os.path.join(args.out, name)) for name in names
              if "fid" in state.get(name, {})}
    steps = sorted({step for curve in curves.values() for step in curve
                    if step % FID_EVERY == 0})  # not the FIDs of stops and ends
    if steps:
        table += ("\nFID along the way (1,000 generated vs 1,000 training faces, train.py "
                  "--fid_every; end: the last step's):\n\n| configuration | "
                  + " | ".join(f"{s:,}" for s in steps) + " | end |\n|---|"
                  + "---|" * (len(steps) + 1) + "\n")
        for name, curve in curves.items():
            end = f"{curve[max(curve)]:.1f} ({max(curve):,})" if curve else ""
            table += f"| {name} | " + " | ".join(
                f"{curve[s]:.1f}" if s in curve else "" for s in steps) + f" | {end} |\n"
    with open(os.path.join(args.out, "table.md"), "w") as handle:
        budget = (f"{args.cpu_minutes:g} CPU-minutes" if args.cpu_minutes
                  else f"{args.minutes:g} minutes")
        handle.write(f"{budget} of training each, then FID/KID at N = 2,720 "
                     f"against {os.path.basename(args.real)}\n\n" + table)
    print(table, flush=True)


def fid_curve(run_dir: str) -> dict:
    """{step: FID} of the TensorBoard scalar ``fid`` in a run's logs (the last value logged at
    a step wins: a resumed run can log a step twice)."""
    from tensorboard.backend.event_processing import event_accumulator
    import tensorflow as tf
    curve = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "logs", "events.out.tfevents.*")),
                       key=os.path.getmtime):
        events = event_accumulator.EventAccumulator(path, size_guidance={"tensors": 0})
        events.Reload()
        if "fid" in events.Tags()["tensors"]:
            for event in events.Tensors("fid"):
                curve[event.step] = float(tf.make_ndarray(event.tensor_proto))
    return curve


def save(path: str, state: dict) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(state, handle, indent=2)
    os.replace(temporary, path)


if __name__ == "__main__":
    main()
