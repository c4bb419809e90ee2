"""Fixtures shared by every test folder, and an environment fit for a small shared machine.

No torch here and no autouse fixtures: collecting the suite stays fast for everyone.
"""
import os

# Set before any test module imports numpy, OpenCV or torch: their thread pools read these once.
# Six test suites share two cores; one thread each avoids oversubscription. Matplotlib draws
# without a display.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

TINY_SCENES = 10
TINY_SIZE = 64


@pytest.fixture(scope="session")
def tiny_capture_set(tmp_path_factory):
    """Path of a capture set rendered by `device capture --rig sim`'s own code path: 10 scenes of
    64x64 (bundled photos and generated prints), all six dataset LEDs, `human` truth, seed 0.

    Session-scoped and shared: treat it as read-only (copy it before changing anything).
    """
    from device.commands.capture import render_sim_capture_set

    out = tmp_path_factory.mktemp("tiny_capture_set") / "set"
    # Photos, charts and smooth ramps, like the content the train tests were tuned on: the
    # default mix is mostly dead leaves and busy backgrounds, on which 30 iterations of a
    # width-8 unet need not lower the loss yet.
    return render_sim_capture_set(out, count=TINY_SCENES, size=TINY_SIZE, seed=0,
                                  truth="human", progress=False,
                                  mix={"photos": 1, "charts": 1, "smooth": 1})
