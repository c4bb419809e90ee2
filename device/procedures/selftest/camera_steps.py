"""Steps 1, 2, 5 and 6: the camera's mode and rate, the dark frame, the trigger, clipping."""
from __future__ import annotations

from device.procedures.selftest import judge
from device.procedures.selftest.evidence import Evidence, trigger_wire
from device.procedures.selftest.report import Finding
from device.procedures.selftest.session import RigOpenError, RigSession
from device.viewer.cameras import CameraError, Frame
from device.viewer.config import Config
from device.viewer.strobe import SubFrame

RATE_FRAMES = 6         # five intervals: the median of five ignores two late reads
DARK_FRAMES = 4
TRIGGER_PULSES = 3
STOP_SERVICE = "stop the service first (sudo systemctl stop nightcolor): it holds the camera " \
               "and the LED pins"


def check_camera(ev: Evidence) -> Finding:
    """1: the rig opens (LEDs, then the camera) and the camera delivers frames of the
    configured size at the configured rate (LEDs off; on trigger pulses if triggered)."""
    c = ev.config
    try:
        ev.session = RigSession(c)
    except RigOpenError as exc:
        ev.no_frames = "the rig did not open (step 1)"
        if exc.part == "leds":
            return Finding(False, f"the LED bank did not open: {exc}", {"opened": False},
                           f"check leds.uri '{c.leds.uri}' (gpio://jetson or gpio://rpi, BOARD "
                           f"pin numbers), that Jetson.GPIO is installed (install.sh does) and "
                           f"this user is in group gpio; {STOP_SERVICE}")
        return Finding(False, f"the camera did not open: {exc}", {"opened": False},
                       f"check camera.uri '{c.camera.uri}' (v4l2-ctl --list-devices shows the "
                       f"devices; docs/cameras.md the URIs of each camera) and its cable; "
                       f"{STOP_SERVICE}")
    session = ev.session
    try:
        frames: list[Frame] | list[SubFrame] = (
            session.one_phase(None, RATE_FRAMES) if session.triggered
            else session.free_run(RATE_FRAMES))
    except CameraError as exc:
        return _no_frames(ev, session, str(exc))
    return _mode_and_rate(ev, frames, session.triggered)


def _no_frames(ev: Evidence, session: RigSession, why: str) -> Finding:
    c = ev.config.camera
    if session.triggered:
        ev.no_frames = "no frame came on a trigger pulse (step 5)"
        return Finding(None, f"{c.uri} opened, but no frame came on its trigger pulses, so its "
                             f"rate cannot be measured until step 5 passes", {"opened": True})
    ev.no_frames = "the camera delivers no frames (step 1)"
    return Finding(False, f"{c.uri} opened, but no frame came within camera.timeout_s "
                          f"{c.timeout_s:g} s ({why})", {"opened": True, "frames": 0},
                   f"check the camera's cable and camera.uri '{c.uri}'; {STOP_SERVICE}")


def _mode_and_rate(ev: Evidence, frames: list[Frame] | list[SubFrame],
                   triggered: bool) -> Finding:
    c = ev.config.camera
    shapes = [f.image.shape for f in frames]
    fps = judge.delivered_fps([f.exposure_start for f in frames])
    h, w = shapes[0][:2]
    measured = {"width": w, "height": h, "fps": fps, "configured_fps": c.fps,
                "rate_tolerance": judge.RATE_TOLERANCE}
    if any(shape[:2] != (c.height, c.width) for shape in shapes):
        ev.no_frames = "the frames are not the configured size (step 1)"
        return Finding(False, f"frames are {w}x{h}, not camera.width x camera.height "
                              f"{c.width}x{c.height}", measured,
                       "set camera.width and camera.height to a mode the camera has "
                       "(v4l2-ctl --list-formats-ext; docs/cameras.md, camera profiles)")
    if triggered:
        return _keeps_pace(ev, frames, measured)
    said = f"{w}x{h} frames at {fps:.1f} fps (camera.fps {c.fps:g})"
    if not judge.rate_ok(fps, c.fps):
        return Finding(False, f"{said}: more than {judge.RATE_TOLERANCE:.0%} off", measured,
                       f"set camera.fps to a rate of the camera's {w}x{h} mode (v4l2-ctl "
                       f"--list-formats-ext), or shorten camera.exposure_ms "
                       f"({c.exposure_ms:g} ms) if the exposure holds the rate down")
    return Finding(True, said, measured)


def _keeps_pace(ev: Evidence, frames: list[Frame] | list[SubFrame],
                measured: dict[str, float | int]) -> Finding:
    """Triggered: the strobe sets the pace, so the rate reached says more about this machine's
    scheduling than about the camera. The camera keeps camera.fps when each frame, from its
    first row's start to its last row's end on the camera's own timestamps, fits one period."""
    c = ev.config.camera
    period = 1.0 / c.fps
    frame = judge.frame_span([f.exposure_end - f.exposure_start for f in frames])
    measured = dict(measured, frame_ms=frame * 1e3, period_ms=period * 1e3)
    said = (f"{measured['width']}x{measured['height']} frames, one per trigger pulse, each "
            f"{frame * 1e3:.1f} ms from its first row's start to its last row's end, within the "
            f"{period * 1e3:.1f} ms period of camera.fps {c.fps:g} (triggered at "
            f"{measured['fps']:.1f} fps here)")
    if frame > period:
        return Finding(False, said.replace("within", "longer than"), measured,
                       f"lower camera.exposure_ms ({c.exposure_ms:g}) or camera.fps, or choose a "
                       f"mode with fewer rows: a triggered frame must end before the next pulse")
    return Finding(True, said, measured)


def check_dark(ev: Evidence) -> Finding:
    """2: all LEDs off, the black level and the frame-to-frame noise."""
    frames = [sub.image for sub in _session(ev).one_phase(None, DARK_FRAMES)]
    ev.dark_frames = frames
    ev.dark = dark = judge.dark_stats(frames)
    ev.dark_mean = judge.mean_frame(frames)
    sat = ev.saturation
    measured = {"level": dark.level, "noise_rms": dark.noise, "full_scale": sat,
                "level_max": judge.DARK_MAX_SHARE * sat, "noise_max": judge.NOISE_MAX_SHARE * sat}
    said = f"dark level {dark.level:.1f}, noise {dark.noise:.2f} codes rms (full scale {sat:g})"
    if dark.level > judge.DARK_MAX_SHARE * sat:
        return Finding(False, f"{said}: the level is over {judge.DARK_MAX_SHARE:.0%} of full "
                              f"scale", measured,
                       "light reaches the sensor with every LED off: shade the rig from room "
                       "light (or set strobe.dark_phase = true to subtract it), and check that "
                       "no LED driver lights while its line is low (an inverted enable)")
    if dark.noise > judge.NOISE_MAX_SHARE * sat:
        return Finding(False, f"{said}: the noise is over {judge.NOISE_MAX_SHARE:.0%} of full "
                              f"scale", measured,
                       f"lower camera.gain ({ev.config.camera.gain:g}); check the camera's "
                       f"power and ground (interference)")
    return Finding(True, said, measured)


def check_trigger(ev: Evidence) -> Finding:
    """5: on a triggered rig, a frame comes on every pulse and none without one."""
    c = ev.config
    session = _session(ev)
    if not session.triggered:
        return Finding(None, f"strobe.sync is \"{c.strobe.sync}\": the camera runs freely and "
                             "takes no trigger (this step checks trigger sync only)")
    probe = session.probe_trigger(TRIGGER_PULSES)
    measured = {"frames_without_pulse": probe.without_pulse, "waited_s": probe.waited_s,
                "pulses": probe.pulses, "frames_on_pulses": probe.on_pulses}
    if probe.without_pulse:
        return Finding(False, f"a frame came with no trigger pulse (within {probe.waited_s:.2f}"
                              " s): the camera runs freely", measured,
                       "put the camera in external-trigger mode (a v4l2raw:// camera: "
                       "?ctrl.trigger_mode=1, or its profile's control), or set strobe.sync "
                       "to \"frame\" for a free-running camera")
    if probe.on_pulses < probe.pulses:
        return Finding(False, f"no frame came on a trigger pulse ({probe.on_pulses} of "
                              f"{probe.pulses}; none without a pulse either)", measured,
                       f"check the wire from {trigger_wire(c)} to the camera's trigger input, "
                       "its level (a 1.8 V input needs a level shifter: docs/cameras.md, "
                       "Wiring) and that the camera is in external-trigger mode")
    return Finding(True, f"a frame on each of {probe.pulses} pulses, none in "
                         f"{probe.waited_s:.2f} s without one", measured)


def check_clipping(ev: Evidence) -> Finding:
    """6: on white paper, no LED's frame clips at the configured exposure and gain."""
    assert ev.dark is not None
    c = ev.config.camera
    worst: dict[int, judge.Clipping] = {}
    for nm, subs in ev.alone.items():
        found = [judge.clipping(sub.image, ev.saturation, ev.dark) for sub in subs]
        worst[nm] = max(found, key=lambda f: f.share)
    measured = {"full_scale": ev.saturation, "full_scale_from": ev.saturation_source,
                "clipped_max": judge.CLIPPED_MAX,
                "clipped": {f"{nm} nm": f.share for nm, f in worst.items()},
                "bright_end": {f"{nm} nm": f.bright_end for nm, f in worst.items()}}
    clipped = {nm: f for nm, f in worst.items() if f.clipped}
    if clipped:
        nm, f = max(clipped.items(), key=lambda item: item[1].share)
        top = f"a pile-up at {f.pile_up:g}" if f.pile_up is not None else f"{ev.saturation:g}"
        return Finding(False, f"{f.share:.1%} of the pixels of the {nm} nm frame reach full "
                              f"scale ({top}) on white paper (at most {judge.CLIPPED_MAX:.1%})",
                       measured,
                       f"lower camera.exposure_ms ({c.exposure_ms:g}) or camera.gain "
                       f"({c.gain:g}), or the {nm} nm LED's current: white paper must stay "
                       f"below full scale")
    brightest = max(worst.values(), key=lambda f: f.bright_end).bright_end
    return Finding(True, f"no frame clips: the brightest end is {brightest:.0f} of "
                         f"{ev.saturation:g} ({brightest / ev.saturation:.0%})", measured)


def _session(ev: Evidence) -> RigSession:
    assert ev.session is not None
    return ev.session


def full_scale(config: Config, given: float | None) -> tuple[float, str]:
    """The code a clipped pixel reads: given (--saturation), else the config's (automatic
    exposure's `exposure.saturation`, where the config has that section), else the camera's
    depth (8 bits: 255; 16 bits: a 12-bit ADC's 4095, as the simulated camera's and the
    common sensors'; a 10-bit sensor still shows as a pile-up, judge.clipping)."""
    if given is not None:
        return given, "--saturation"
    exposure = getattr(config, "exposure", None)
    if exposure is not None and getattr(exposure, "saturation", None):
        return float(exposure.saturation), "exposure.saturation"
    if config.camera.bit_depth == 8:
        return 255.0, "camera.bit_depth 8"
    return 4095.0, "camera.bit_depth 16, taken as a 12-bit sensor"
