"""`v4l2raw://`: a raw sensor read through the V4L2 ioctls, driven through a stand-in of the
kernel's side (tests/device/viewer/v4l2_standin.py says what it takes from which document)."""
import dataclasses

import numpy as np
import pytest

from device.common.errors import UserError
from device.common.uri import split_uri
from device.viewer.cameras import CAMERAS, CameraError, CameraOptions
from device.viewer.exposure_plan import plan_exposure
from device.viewer.preprocess import Calibration, Normaliser
from device.viewer.sections import CameraConfig, SimConfig, StrobeConfig
from device.viewer.v4l2_camera import V4l2RawCamera
from tests.device.viewer.v4l2_standin import (StandInV4l2, _fourcc, mainline_sensor_controls,
                                              tegra_controls)


def options(camera: CameraConfig, sync: str = "trigger") -> CameraOptions:
    strobe = StrobeConfig(sync=sync)
    return CameraOptions(camera, sync, None, lambda p: p, SimConfig(),  # type: ignore[arg-type]
                         plan_exposure(camera, strobe))


def ramp(width: int, height: int, bits: int):
    """Frame k: every sample different, spanning the format's whole range."""
    def sensor(k: int) -> np.ndarray:
        values = (np.arange(width * height) * 7 + k) % (2**bits)
        values[-1] = 2**bits - 1                     # the top code, in every frame
        return values.reshape(height, width).astype(np.uint16)
    return sensor


OV9281 = CameraConfig(uri="v4l2raw:///dev/video0", profile="ov9281", width=1280, height=800,
                      fps=60.0, exposure_ms=4.0)


@pytest.mark.parametrize("fmt,bits", [("Y10", 10), ("Y12", 12), ("Y16", 16), ("Y10P", 10),
                                      ("RG10", 10), ("pRCC", 12)])
def test_raw_formats_are_read_at_full_depth(fmt, bits):
    w, h = 64, 8
    dev = StandInV4l2({_fourcc(f"{fmt:<4}"): [(w, h)]}, mainline_sensor_controls(),
                      ramp(w, h, bits))
    camera = V4l2RawCamera(split_uri(f"v4l2raw:///dev/video0?format={fmt}"),
                           options(dataclasses.replace(OV9281, width=w, height=h)), dev)
    try:
        for k in range(3):
            frame = camera.read()
            assert frame.image.dtype == np.uint16
            np.testing.assert_array_equal(frame.image, ramp(w, h, bits)(k))
        assert frame.image.max() == 2**bits - 1        # no conversion to 8 bits on the way
    finally:
        camera.close()
    assert dev.opened == 0 and not dev.streaming


def test_exposure_and_trigger_are_set_as_the_driver_counts_them():
    dev = StandInV4l2({_fourcc("Y10 "): [(1280, 800)]}, mainline_sensor_controls(),
                      ramp(1280, 800, 10))
    camera = V4l2RawCamera(split_uri("v4l2raw:///dev/video0?ctrl.analogue_gain=40"),
                           options(OV9281, "trigger"), dev)
    camera.close()
    line_s = (1280 + 176) / 160e6          # mainline ov9282.c: (width + hblank) / pixel rate
    assert dev.value("Exposure") == round(4e-3 / line_s)      # 4 ms in lines: 440
    assert dev.value("Trigger Mode") == 1 and dev.value("Analogue Gain") == 40
    assert dev.timeperframe == (1000, 60000)
    # free-running timing: the trigger goes off
    dev2 = StandInV4l2({_fourcc("Y10 "): [(1280, 800)]}, mainline_sensor_controls(),
                       ramp(1280, 800, 10))
    V4l2RawCamera(split_uri("v4l2raw:///dev/video0?format=Y10"),
                  options(dataclasses.replace(OV9281, profile="", line_time_us=9.1),
                          "frame"), dev2).close()
    assert dev2.value("Trigger Mode") == 0


def test_a_flash_window_exposure_is_the_sensor_exposure_of_the_plan():
    imx219 = CameraConfig(uri="v4l2raw:///dev/video0", profile="imx219", width=1280,
                          height=720, fps=30.0, exposure_ms=8.0)
    dev = StandInV4l2({_fourcc("RG10"): [(1280, 720)]}, mainline_sensor_controls(),
                      ramp(1280, 720, 10))
    V4l2RawCamera(split_uri("v4l2raw:///dev/video0"), options(imx219, "flash-window"),
                  dev).close()
    line_s = 3448 / 182.4e6
    expected = (719 * line_s + 8e-3 + 2 * 0.5e-3) / line_s    # rows' span + LED + guards
    assert dev.value("Exposure") == round(expected)


def test_a_tegra_driver_takes_its_64_bit_exposure_in_microseconds():
    dev = StandInV4l2({_fourcc("Y10 "): [(1280, 800)]}, tegra_controls(), ramp(1280, 800, 10),
                      s_parm=False)
    V4l2RawCamera(split_uri("v4l2raw:///dev/video0"), options(OV9281, "frame"), dev).close()
    assert dev.value("Exposure") == 4000


def test_exposure_times_come_from_the_driver_timestamps():
    w, h = 64, 16
    camera_config = dataclasses.replace(OV9281, profile="", shutter="rolling",
                                        line_time_us=20.0, width=w, height=h)
    for soe in (True, False):
        dev = StandInV4l2({_fourcc("Y10 "): [(w, h)]}, mainline_sensor_controls(),
                          ramp(w, h, 10), soe=soe, exposure_s=4e-3, readout_s=h * 20e-6,
                          period_s=0.01, drop={2})
        camera = V4l2RawCamera(split_uri("v4l2raw:///dev/video0?format=Y10"),
                               options(camera_config, "frame"), dev)
        frames = [camera.read() for _ in range(4)]
        camera.close()
        starts = [f.exposure_start - dev._t0 for f in frames]
        # frame 2 was lost by the "hardware": the sequence gap is counted, times stay true
        assert starts == pytest.approx([0.0, 0.01, 0.03, 0.04], abs=2e-6)
        assert camera.lost_frames == 1
        # rolling: the last row ends (rows - 1) line times after row 0's exposure does
        assert frames[0].exposure_end - frames[0].exposure_start == \
            pytest.approx(4e-3 + 15 * 20e-6)


def test_a_mode_the_sensor_lacks_is_refused_naming_what_it_offers():
    dev = StandInV4l2({_fourcc("Y10 "): [(1280, 800)]}, mainline_sensor_controls(),
                      ramp(1280, 800, 10))
    with pytest.raises(UserError, match=r"offers 1280x800 'Y10 ' where .* ask for 640x480 'Y10'"):
        V4l2RawCamera(split_uri("v4l2raw:///dev/video0"),
                      options(dataclasses.replace(OV9281, width=640, height=480)), dev)
    assert dev.opened == 0
    with pytest.raises(UserError, match="has no control 'frobnicate'"):
        V4l2RawCamera(split_uri("v4l2raw:///dev/video0?ctrl.frobnicate=1"), options(OV9281),
                      dev)
    with pytest.raises(CameraError, match="cannot open /dev/video7"):
        V4l2RawCamera(split_uri("v4l2raw:///dev/video7"), options(OV9281), dev)
    with pytest.raises(UserError, match="format 'XYZ1'"):
        V4l2RawCamera(split_uri("v4l2raw:///dev/video0?format=XYZ1"), options(OV9281), dev)


def test_a_camera_without_frames_is_lost_after_its_timeout():
    dev = StandInV4l2({_fourcc("Y10 "): [(64, 8)]}, mainline_sensor_controls(), ramp(64, 8, 10))
    camera = V4l2RawCamera(split_uri("v4l2raw:///dev/video0"),
                           options(dataclasses.replace(OV9281, width=64, height=8,
                                                       timeout_s=0.01)), dev)
    dev.queued.clear()                     # nothing queued: the driver has nothing to fill
    with pytest.raises(CameraError, match="no frame"):
        camera.read()
    camera.close()


def test_a_noir_bayer_frame_is_flattened_by_the_per_pixel_white_calibration():
    """IMX219 NoIR's RG10 read raw as one plane: each colour filter passes NIR differently
    (here R 0.95, G 0.70, B 0.85 of the light: illustrative values), a fixed per-pixel factor
    that the white reference divides out, as it does vignetting; no demosaic, no ISP."""
    w, h, dark = 64, 48, 64.0
    cfa = np.tile(np.array([[0.95, 0.70], [0.70, 0.85]]), (h // 2, w // 2))   # RGGB sites
    y, x = np.mgrid[0:h, 0:w]
    vignette = 1 - 0.3 * (((x - w / 2) / w) ** 2 + ((y - h / 2) / h) ** 2)
    scene = {"dark": np.zeros((h, w)), "white": np.ones((h, w)),
             "print": 0.2 + 0.6 * (x / w)}                                  # a grey ramp
    shown = {"which": "dark"}
    rng = np.random.default_rng(0)

    def sensor(k: int) -> np.ndarray:
        signal = 800 * cfa * vignette * scene[shown["which"]]
        return np.clip(dark + signal + rng.normal(0, 1.0, (h, w)), 0, 1023).astype(np.uint16)

    dev = StandInV4l2({_fourcc("RG10"): [(w, h)]}, mainline_sensor_controls(), sensor)
    imx219 = CameraConfig(uri="v4l2raw:///dev/video0", profile="imx219", width=w, height=h,
                          fps=30.0, exposure_ms=8.0)
    camera = V4l2RawCamera(split_uri("v4l2raw:///dev/video0"), options(imx219, "frame"), dev)

    def mean_of(which: str, n: int = 16) -> np.ndarray:
        shown["which"] = which
        return np.mean([camera.read().image.astype(np.float32) for _ in range(n)], axis=0)

    calibration = Calibration(mean_of("dark"), {850: mean_of("white")})
    shown["which"] = "print"
    raw = camera.read().image
    camera.close()
    flat = Normaliser(calibration)(raw, 850, None)
    sites = {name: (slice(dy, None, 2), slice(dx, None, 2))
             for name, (dy, dx) in {"R": (0, 0), "G": (0, 1), "B": (1, 1)}.items()}
    raw_means = {n: float(raw[s].astype(float).mean()) for n, s in sites.items()}
    flat_means = {n: float(flat[s].mean()) for n, s in sites.items()}
    assert raw_means["R"] / raw_means["G"] > 1.25             # the mosaic shows in the raw
    assert max(flat_means.values()) - min(flat_means.values()) < 0.01   # and not after it
    np.testing.assert_allclose(flat, scene["print"], atol=0.03)


def test_v4l2raw_is_a_registered_camera_scheme():
    backend = CAMERAS.get("v4l2raw")
    assert backend is not None and not backend.simulated
    assert "V4L2 ioctls" in backend.summary
