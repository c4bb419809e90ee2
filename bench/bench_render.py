"""Render benchmark: a 6-LED capture of a 1-megapixel print on one core (budget: 1 s).

Prints the cold time (scene construction: CMYK separation and Demichel weights, plus the first
capture of each LED, which renders and caches its noiseless signal) and the warm time (the six
noisy captures once the signals are cached, as in a dataset or the simulated camera), each as a
ratio to the 1 s budget, and the `human` ground truth for comparison.
Run: .venv/bin/python bench/bench_render.py [--size 1024] [--repeats 3]
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"   # one core, set before numpy loads its BLAS

import argparse  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from device.sim import DATASET_LEDS, PrintedScene, RigSpec  # noqa: E402

BUDGET_S = 1.0


def artwork(size: int, seed: int = 0) -> np.ndarray:
    """A busy print: smooth colour gradients plus random saturated blocks (all 16 primaries)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    rgb = np.stack([x, y, 1 - x * y], axis=-1)
    blocks = cv2.resize(rng.integers(0, 2, (16, 16, 3)).astype(np.float64), (size, size),
                        interpolation=cv2.INTER_NEAREST)
    mask = cv2.resize((rng.random((16, 16)) < 0.5).astype(np.float64), (size, size),
                      interpolation=cv2.INTER_NEAREST)[..., None]
    return (255 * (mask * blocks + (1 - mask) * rgb)).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="print side in px (default 1024)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rgb = artwork(args.size)
    rng = np.random.default_rng(0)

    clocks = {"wall": time.perf_counter, "cpu": time.process_time}
    runs = []
    for _ in range(args.repeats):
        marks = [{name: clock() for name, clock in clocks.items()}]
        scene = PrintedScene(rgb, RigSpec(), seed=0)
        marks.append({name: clock() for name, clock in clocks.items()})
        for _pass in ("cold", "warm"):
            for nm in DATASET_LEDS:
                scene.capture(nm, rng)
            marks.append({name: clock() for name, clock in clocks.items()})
        runs.append({name: (marks[1][name] - marks[0][name], marks[2][name] - marks[0][name],
                            marks[3][name] - marks[2][name]) for name in clocks})
    import colour  # noqa: F401  (a one-off ~1-3 s import, not part of rendering)

    start = time.process_time()
    scene.ground_truth("human")
    truth_cpu = time.process_time() - start

    mpx = args.size**2 / 1e6
    print(f"print {args.size}x{args.size} ({mpx:.2f} Mpx), 6 LEDs {DATASET_LEDS}, one thread, "
          f"best of {args.repeats}; 'cpu' = process CPU time (robust on a shared machine)")
    for name in clocks:
        build_s, cold_s, _ = min((run[name] for run in runs), key=lambda r: r[1])
        warm_s = min(run[name][2] for run in runs)
        print(f"{name:>4} cold: construction {build_s:.3f} s + first 6-LED capture = "
              f"{cold_s:.3f} s -> {cold_s / BUDGET_S:.2f} x the {BUDGET_S:.0f} s budget")
        print(f"{name:>4} warm: 6-LED capture, signals cached = {warm_s:.3f} s -> "
              f"{warm_s / BUDGET_S:.2f} x budget ({warm_s / 6 * 1e3:.0f} ms per frame)")
    print(f" cpu human ground truth (CIE 1931 2 deg, D65): {truth_cpu:.3f} s")


if __name__ == "__main__":
    main()
