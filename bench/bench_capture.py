"""Capture benchmark: `device capture --rig sim` of 100 scenes with --workers 1 and --workers 2,
side by side in one run, and the speed-up (target: --workers 2 faster than --workers 1).

Every process uses one BLAS/OpenMP and one OpenCV thread (`--workers` sets OpenCV's in its
workers; the BLAS/OpenMP setting here reaches them through the environment), so --workers 1
runs on one core and the ratio measures the process-level parallelism of
`--workers`, not the libraries' threads. The two sets are also
compared file by file: the set must not depend on the number of workers.
Run: .venv/bin/python bench/bench_capture.py [--count 100] [--size 256] [--workers 1 2]
(--size defaults to `device capture`'s own; each worker pool pays a fixed ~1.7 s to start its
forkserver, so at small sizes and counts it cannot win.)
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"   # one core per process, set before numpy loads its BLAS

import argparse  # noqa: E402
import filecmp  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

from device.commands.capture import DEFAULT_SIZE, render_sim_capture_set  # noqa: E402

cv2.setNumThreads(1)


def same_scenes(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in (a / "scenes").rglob("*.png"))
    match, mismatch, errors = filecmp.cmpfiles(a, b, [str(f) for f in files], shallow=False)
    return not mismatch and not errors and len(match) == len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up: imports and the printer's tables, so neither timed run pays for them.
        render_sim_capture_set(Path(tmp) / "warm", count=2, size=args.size, progress=False)
        for n in args.workers:
            start = time.perf_counter()
            render_sim_capture_set(Path(tmp) / f"w{n}", count=args.count, size=args.size,
                                   workers=n, progress=False)
            seconds[n] = time.perf_counter() - start
        identical = all(same_scenes(Path(tmp) / f"w{args.workers[0]}", Path(tmp) / f"w{n}")
                        for n in args.workers[1:])
    base = args.workers[0]
    print(f"{args.count} scenes of {args.size}x{args.size}, 6 LEDs, {os.cpu_count()} CPUs")
    print("| workers | seconds | scenes/s | speed-up vs " f"{base} |")
    print("|---|---|---|---|")
    for n, s in seconds.items():
        print(f"| {n} | {s:.1f} | {args.count / s:.1f} | {seconds[base] / s:.2f} |")
    print(f"sets identical across worker counts: {identical}")


if __name__ == "__main__":
    main()
