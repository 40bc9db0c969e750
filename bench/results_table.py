"""A results file of the completion benches as the Markdown tables of the README and docs/results.md.

Reads the JSON that ``bench/complete_quality.py --output`` or ``bench/photo_quality.py --output``
wrote ({"setup": {...}, "<method>/<mask>": {"hole_psnr", "u_ids", ...}}) and prints, so that no
figure is copied by hand:

    --layout=glance  one row per mask, one column per method; each cell "hole PSNR dB / U-IDS"
                     (the figures of --metrics, in that order); the highest U-IDS of a row in bold
                     (the ``real`` reference row left out of that comparison)
    --layout=long    one row per method and mask with every figure the file has

A cell the file lacks prints as "-". Methods and masks come in the order of --methods / --masks,
by default the order of the file.

    python bench/results_table.py realism2720.json [--layout=glance|long] \\
        [--methods=telea,fast,instant,default] [--masks=center,random,left,thick] \\
        [--metrics=hole_psnr,u_ids]
"""

import argparse
import json
import math
import sys

SETUP = "setup"
REFERENCE = "real"
# (heading, format) of every figure a results row may hold, in the long layout's column order.
FIGURES = {
    "hole_psnr": ("hole PSNR (dB)", "{:.2f}"),
    "hole_ssim": ("hole SSIM", "{:.3f}"),
    "fid": ("FID", "{:.1f}"),
    "kid": ("KID x 1000", "{:.2f}"),
    "u_ids": ("U-IDS", "{:.3f}"),
    "p_ids": ("P-IDS", "{:.3f}"),
    "seconds_per_image": ("s / image", "{:.3g}"),
}
UNITS = {"hole_psnr": " dB"}
SCALES = {"kid": 1e3}  # KID is printed in thousandths, as the benches print it


def read_table(path: str) -> tuple[dict, dict]:
    """The ``(setup, rows)`` of a bench's results file; rows keyed by (method, mask).

    Raises:
        ValueError: naming ``path``, when it cannot be read or is no results file of a bench.
    """
    try:
        with open(path) as handle:
            table = json.load(handle)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {path}: {error}") from error
    if not isinstance(table, dict) or not all(isinstance(row, dict) for row in table.values()):
        raise ValueError(f"{path} is not a results file of a bench")
    setup = table.pop(SETUP, {})
    rows = {}
    for key, row in table.items():
        method, _, mask = key.partition("/")
        if not mask:
            raise ValueError(f'{path}: row "{key}" is not named "<method>/<mask>"')
        rows[method, mask] = row
    return setup, rows


def figure(row: dict | None, metric: str, unit: bool = False, reference: bool = False) -> str:
    """One figure of a row as printed: "-" when missing (and for the ``reference`` row's
    seconds, which time no method), "inf" for the real row's null PSNR."""
    if row is None or metric not in row or (reference and metric == "seconds_per_image"):
        return "-"
    value = row[metric]
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return "inf"
    value *= SCALES.get(metric, 1)
    return FIGURES[metric][1].format(value) + (UNITS.get(metric, "") if unit else "")


def glance(rows: dict, methods: list[str], masks: list[str], metrics: list[str]) -> list[str]:
    """Masks x methods, each cell the ``metrics`` joined by " / "; the best U-IDS in bold."""
    lines = ["| mask | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for mask in masks:
        scored = [rows[method, mask]["u_ids"] for method in methods
                  if method != REFERENCE and "u_ids" in rows.get((method, mask), {})]
        best = max(scored, default=None)
        cells = []
        for method in methods:
            row = rows.get((method, mask))
            if row is None:
                cells.append("-")
                continue
            parts = []
            for metric in metrics:
                text = figure(row, metric, unit=True)
                if (metric == "u_ids" and method != REFERENCE and text != "-"
                        and row[metric] == best):
                    text = f"**{text}**"
                parts.append(text)
            cells.append(" / ".join(parts))
        lines.append(f"| {mask} | " + " | ".join(cells) + " |")
    return lines


def long(rows: dict, methods: list[str], masks: list[str]) -> list[str]:
    """One line per (mask, method) present, with every figure any row of the file has."""
    present = [metric for metric in FIGURES if any(metric in row for row in rows.values())]
    lines = ["| mask | method | " + " | ".join(FIGURES[m][0] for m in present) + " |",
             "|---" * (len(present) + 2) + "|"]
    for mask in masks:
        for method in methods:
            row = rows.get((method, mask))
            if row is not None:
                lines.append(f"| {mask} | {method} | "
                             + " | ".join(figure(row, metric, reference=method == REFERENCE)
                                          for metric in present) + " |")
    return lines


def ordered(wanted: str, found: list[str], flag: str) -> list[str]:
    """The comma list ``wanted`` (every name of it in ``found``), or ``found`` when empty.

    Raises:
        ValueError: naming ``flag`` and the name the file does not have.
    """
    if not wanted:
        return found
    names = [name for name in wanted.split(",") if name]
    for name in names:
        if name not in found:
            raise ValueError(f"--{flag}: the file has no {name!r} (it has {', '.join(found)})")
    return names


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="a JSON file written by a completion bench's --output")
    parser.add_argument("--layout", choices=("glance", "long"), default="glance")
    parser.add_argument("--methods", default="", help="comma list, in the table's order")
    parser.add_argument("--masks", default="", help="comma list, in the table's order")
    parser.add_argument("--metrics", default="hole_psnr,u_ids",
                        help=f"glance cells, comma list of {', '.join(FIGURES)}")
    args = parser.parse_args(argv)
    try:
        setup, rows = read_table(args.results)
        methods = ordered(args.methods, list(dict.fromkeys(m for m, _ in rows)), "methods")
        masks = ordered(args.masks, list(dict.fromkeys(k for _, k in rows)), "masks")
        metrics = [name for name in args.metrics.split(",") if name]
        unknown = [name for name in metrics if name not in FIGURES]
        if unknown or not metrics:
            raise ValueError(f"--metrics: {', '.join(unknown) or 'empty'}; choose from "
                             f"{', '.join(FIGURES)}")
    except ValueError as error:
        parser.error(str(error))
    if setup:
        print("setup: " + ", ".join(f"{key}={value}" for key, value in setup.items()))
        print()
    lines = glance(rows, methods, masks, metrics) if args.layout == "glance" else long(
        rows, methods, masks)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
