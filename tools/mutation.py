"""Mutation testing of the hardware layer and the safety paths, with mutmut: each module's
mutants are run against the tests that cover it, and the score is printed per module.

    nice -n 10 .venv/bin/python tools/mutation.py                  # every module below
    nice -n 10 .venv/bin/python tools/mutation.py device/viewer/strobe.py   # one of them

Slow (minutes per module on 2 shared cores; the whole list took the time docs/testing.md
gives), so it is not part of the test suite or CI. Each module runs in its own copy of the work
tree (tracked + untracked files git does not ignore: tools/worktree_copy.py) with a
`[tool.mutmut]` section written for it, so nothing here touches the work tree and a test run
beside it is not disturbed. mutmut mutates only the module's functions, runs the stats pass
over the module's tests once, then for each mutant only the tests that reached the mutated
function. Results go to out/mutation/<module>.txt: the counts and every surviving mutant's
diff (`mutmut show`), which docs/testing.md explains one by one.

To re-run after a module changes (e.g. strobe.py or leds.py refactored), run it for that
module and compare its survivors with docs/testing.md's list. Add a module: one line in
MODULES with the tests that cover it (a test that does not reach a function leaves its
mutants "no tests", counted as not killed).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from worktree_copy import ROOT, copy_tree   # tools/ is the script's folder, first on sys.path

# module (a file, or a package folder) -> the tests that exercise it
# (tests/device/test_lazy_imports.py cannot run on mutmut's copy: it imports every module in
# a fresh interpreter, where mutmut's trampolines are not set up; nor can
# tests/device/viewer/test_camera_examples.py, which reads examples/ beside the sources.)
MODULES: dict[str, tuple[str, ...]] = {
    "convert/bounds.py": ("tests/convert/test_bounds.py",
                          "tests/device/engines/test_trt_runner.py",
                          "tests/convert/test_parity.py"),
    "convert/verify.py": ("tests/convert/test_bounds.py", "tests/convert/test_parity.py",
                          "tests/convert/test_real_inputs.py"),
    "device/service/failsafe.py": ("tests/device/service/test_service_signals.py",
                                   "tests/device/viewer/test_gpio_leds.py"),
    "device/viewer/leds.py": ("tests/device/viewer/test_gpio_leds.py",
                              "tests/device/viewer/test_strobe.py",
                              "tests/device/test_backends.py"),
    "device/viewer/strobe.py": ("tests/device/viewer/test_strobe.py",
                                "tests/device/viewer/test_rolling_timing.py",
                                "tests/device/viewer/test_gpio_leds.py",
                                "tests/device/viewer/test_replay.py",
                                "tests/device/viewer/test_sim_rolling.py",
                                "tests/device/viewer/test_preprocess.py",
                                "tests/device/viewer/test_exposure.py",
                                "tests/device/viewer/test_temporal.py"),
    # device/engines, one file at a time (a per-file score says where the gaps are; the
    # package's score is their sum).
    "device/engines/cuda_buffers.py": ("tests/device/engines/test_cuda_copy.py",
                                       "tests/device/engines/test_trt_runner.py",
                                       "tests/device/engines/test_engine_build.py"),
    "device/engines/trt_build.py": ("tests/convert/test_trt_build.py",
                                    "tests/device/engines/test_engine_build.py"),
    "device/engines/engine.py": ("tests/device/engines", "tests/device/test_backends.py",
                                 "tests/device/viewer/test_fused.py",
                                 "tests/device/viewer/test_temporal.py"),
    "device/engines/model_card.py": ("tests/convert/test_model_card.py",
                                     "tests/device/service/test_model_files.py",
                                     "tests/device/test_backends.py",
                                     "tests/device/engines"),
    "device/engines/trt_runner.py": ("tests/device/engines",),
    "device/engines/viewer_io.py": ("tests/device/engines", "tests/convert/test_trt_build.py",
                                    "tests/device/viewer/test_fused.py",
                                    "tests/device/viewer/test_temporal.py"),
    "device/engines/parity.py": ("tests/convert/test_bounds.py",
                                 "tests/device/engines/test_trt_runner.py",
                                 "tests/device/viewer/test_fused.py"),
}
MUTMUT = Path(sys.executable).with_name("mutmut")
STATUSES = ("killed", "survived", "no_tests", "timeout", "suspicious", "skipped", "segfault")


def mutmut_section(module: str, tests: tuple[str, ...]) -> str:
    pattern = f"{module}/*" if not module.endswith(".py") else module
    return (f"\n[tool.mutmut]\nsource_paths = [\"device\", \"convert\", \"train\"]\n"
            f"only_mutate = [\"{pattern}\"]\n"
            f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}\n"
            "pytest_add_cli_args = [\"-p\", \"no:cacheprovider\"]\n")


def run_module(module: str, tests: tuple[str, ...], out_dir: Path, children: int) -> dict:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        copy = Path(tmp)
        copy_tree(None, copy)
        with open(copy / "pyproject.toml", "a") as f:
            f.write(mutmut_section(module, tests))
        log = out_dir / f"{module.replace('/', '.')}.log"
        with open(log, "w") as f:
            subprocess.run([str(MUTMUT), "run", "--max-children", str(children)], cwd=copy,
                           stdout=f, stderr=subprocess.STDOUT, check=False)
        text = log.read_text().lower()
        if any(failed in text for failed in ("failed to collect stats", "failed to run clean "
                                             "test", "unable to force test failures")):
            raise SystemExit(f"{module}: the module's tests fail on its copy before any "
                             f"mutant (mutmut's stats or clean-test pass); see {log}")
        subprocess.run([str(MUTMUT), "export-cicd-stats"], cwd=copy, capture_output=True,
                       check=True)
        stats = json.loads((copy / "mutants" / "mutmut-cicd-stats.json").read_text())
        listing = subprocess.run([str(MUTMUT), "results"], cwd=copy, capture_output=True,
                                 text=True, check=True).stdout
        not_killed = [line.split(":")[0].strip() for line in listing.splitlines() if ":" in line]
        diffs = [subprocess.run([str(MUTMUT), "show", name], cwd=copy, capture_output=True,
                                text=True).stdout for name in not_killed]
    stats["seconds"] = round(time.monotonic() - started)
    counted = stats["total"] - stats.get("skipped", 0)
    stats["score"] = round(100 * stats["killed"] / counted, 1) if counted else None
    report = out_dir / f"{module.replace('/', '.')}.txt"
    report.write_text(f"{module}: {json.dumps(stats)}\ntests: {' '.join(tests)}\n\n"
                      + "\n".join(f"== {n}\n{d}" for n, d in zip(not_killed, diffs)))
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", choices=[[], *MODULES], metavar="MODULE",
                        help=f"modules to mutate (default: all of {', '.join(MODULES)})")
    parser.add_argument("--children", type=int, default=2, help="mutants run at once")
    args = parser.parse_args()
    out_dir = ROOT / "out" / "mutation"
    out_dir.mkdir(parents=True, exist_ok=True)
    print("| module | mutants | killed | survived | no tests | timeout | score | minutes |")
    print("|---|---|---|---|---|---|---|---|")
    for module in args.modules or MODULES:
        s = run_module(module, MODULES[module], out_dir, args.children)
        print(f"| `{module}` | {s['total']} | {s['killed']} | {s['survived']} | "
              f"{s['no_tests']} | {s['timeout']} | {s['score']} % | {s['seconds'] / 60:.1f} |",
              flush=True)
    print(f"survivors and their diffs: {out_dir}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
