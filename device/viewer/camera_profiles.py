"""The cameras a builder would put on the rig, as figures the strobe and the simulated camera
read (`camera.profile` in the config): shutter, line time per sensor mode, trigger input, strobe
output, pixel format and how the camera is opened, each figure with where it comes from.

A rolling shutter starts row r one line time (tRow) after row r - 1, so the LED timing depends on
these figures; device.viewer.exposure_plan turns them and the config into the strobe's timing.
"Assumed" marks a figure no stored source gave: check it on a bench before relying on it.

Line times are the sensor drivers' line length over their pixel rate (the driver's own
`exposure_to_us`-style conversions use the same quotient); maximum frame rates are the driver's
mode tables. Sources, by short name:
- mainline imx219.c: torvalds/linux drivers/media/i2c/imx219.c (IMX219_PIXEL_RATE 182.4 MHz,
  IMX219_PPL_DEFAULT 3448, modes 3280x2464 / 1920x1080 / 1640x1232 / 640x480, VBLANK_MIN 32).
- L4T imx219_mode_tbls.h: NVIDIA's Jetson (L4T R32) mode table: 1280x720 at 60 fps with
  LINE_LENGTH 3448 and FRM_LENGTH 880 at the same PLL (0x0307 = 0x39) as mainline.
- rpi imx477.c: raspberrypi/linux drivers/media/i2c/imx477.c (IMX477_PIXEL_RATE 840 MHz,
  line_length_pix and timeperframe_min per mode, EXPOSURE_OFFSET 22).
- mainline ov9282.c: torvalds/linux drivers/media/i2c/ov9282.c (pixel rate 400 MHz x 2 x 2 / 10
  = 160 MHz at 10 bits, hblank_min 176 (continuous clock), vblank_min per mode,
  OV9282_EXPOSURE_OFFSET 25, V4L2_CID_FLASH_STROBE_OE / FLASH_DURATION for the STROBE pin).
- mainline imx296.c: torvalds/linux drivers/media/i2c/imx296.c (HMAX 1100 at INCK 74.25 MHz,
  VBLANK min 30 lines, mono variant IMX296LL read as Y10).
- RPi GS trigger: Raspberry Pi documentation, camera/external_trigger.adoc ("The exposure time
  is equal to the low pulse-width time plus an additional 14.26us", the XTR pad).
- Arducam trigger: Arducam's external-trigger docs ("the OV9281 camera mainly uses the XVS pin as
  the external trigger pin"; "the voltage of the trigger signal is 1.8V"; `v4l2-ctl -c
  trigger_mode=1`).
- FLIR BFS I/O: FLIR Blackfly S technical reference, Input/Output Control (Line 0 opto-isolated
  input, high level 2.6-30 V; Line 1 opto-isolated open-drain output; line source Exposure Active).
- Basler ace flash window: Basler ace USB 3.0 user's manual AW00123409000, 6.6.2.3 and 6.8.2
  (flash window opens tRow x (ROI height - 1) after the frame starts, is ExposureTime - tRow x
  (ROI height - 1) wide; rolling models acA1920-25 / acA2500-14 output a flash window signal);
  Basler ace GigE manual AW00089316000 (acA2500-14gm: tRow = 35 us).
"""
from __future__ import annotations

from dataclasses import dataclass, field

ASSUMED = "assumed"


@dataclass(frozen=True)
class SensorMode:
    """One readout mode: its size, the time between two rows starting, its fastest rate."""
    width: int
    height: int
    line_time_us: float
    max_fps: float
    source: str


@dataclass(frozen=True)
class CameraProfile:
    name: str                          # what camera.profile says
    camera: str                        # what a builder orders
    sensor: str
    shutter: str                       # "global" or "rolling"
    modes: tuple[SensorMode, ...]
    trigger_input: str                 # "" when there is none: the pin and its logic level
    strobe_output: str                 # "" when there is none: the pin, high while exposing
    pixel_format: str                  # V4L2 fourcc (Y10, RG10, ...) or GStreamer format
    opens: str                         # the camera.uri (and controls) that open it
    default_sync: str                  # strobe.sync when the config does not set it
    exposure_margin_lines: int = 0     # exposure <= frame length - this many lines
    v4l2_controls: dict[str, str] = field(default_factory=dict)   # role -> control name
    trigger_exposure_offset_us: float = 0.0   # pulse-width triggers: exposure = pulse + this
    sources: dict[str, str] = field(default_factory=dict)         # figure -> where it is from

    @property
    def rolling(self) -> bool:
        return self.shutter == "rolling"

    def mode_for(self, width: int, height: int) -> SensorMode:
        """The smallest mode the frame fits in (a sensor crop of it reads only `height`
        rows); the largest mode when none is big enough."""
        fitting = [m for m in self.modes if m.width >= width and m.height >= height]
        if not fitting:
            return max(self.modes, key=lambda m: m.width * m.height)
        return min(fitting, key=lambda m: m.width * m.height)


# IMX219: 3448 pixels per line at 182.4 MHz = 18.90 us per row in every mode (mainline imx219.c).
_IMX219_LINE_US = 3448 / 182.4
# IMX477: 840 MHz pixel rate; line_length_pix 0x5dc0 (full), 0x31c4 (2x2 binned), 6664 (10-bit).
_IMX477_PIXEL_MHZ = 840.0
# OV9281/OV9282: (1280 + hblank 176) / 160 MHz (mainline ov9282.c, continuous CSI-2 clock).
_OV9281_LINE_US = (1280 + 176) / 160.0
# IMX296: HMAX 1100 INCK periods at 74.25 MHz (mainline imx296.c).
_IMX296_LINE_US = 1100 / 74.25

PROFILES: dict[str, CameraProfile] = {p.name: p for p in (
    CameraProfile(
        name="imx219", camera="Raspberry Pi Camera Module v2 NoIR (IMX219), 2-lane CSI-2",
        sensor="Sony IMX219 (Bayer RGGB, no IR-cut filter on the NoIR module)",
        shutter="rolling",
        modes=(SensorMode(3280, 2464, _IMX219_LINE_US, 21.0, "L4T imx219_mode_tbls.h"),
               SensorMode(1920, 1080, _IMX219_LINE_US, 30.0, "L4T imx219_mode_tbls.h"),
               SensorMode(1640, 1232, _IMX219_LINE_US, 30.0, "L4T imx219_mode_tbls.h"),
               SensorMode(1280, 720, _IMX219_LINE_US, 60.0, "L4T imx219_mode_tbls.h"),
               SensorMode(640, 480, _IMX219_LINE_US, 103.3, "mainline imx219.c: 182.4 MHz / "
                          "(3448 x (480 + 32 lines of VBLANK_MIN))")),
        trigger_input="", strobe_output="", pixel_format="RG10",
        opens="csi://N (Argus, through the ISP) or v4l2raw:///dev/videoN?format=RG10 (raw)",
        default_sync="flash-window", exposure_margin_lines=4,
        v4l2_controls={"exposure": "exposure", "exposure_unit": "lines",
                       "gain": "analogue_gain"},
        sources={"line time": "mainline imx219.c (3448 / 182.4 MHz)",
                 "modes": "L4T imx219_mode_tbls.h; 640x480 from mainline imx219.c",
                 "trigger input": "none on the camera module (mainline imx219.c has no trigger)",
                 "exposure margin": "mainline imx219.c: exposure_max = height + vblank - 4",
                 "pixel format": "mainline imx219.c: MEDIA_BUS_FMT_SRGGB10_1X10"}),
    CameraProfile(
        name="imx477", camera="Raspberry Pi High Quality Camera (IMX477), IR-cut filter removed",
        sensor="Sony IMX477 (Bayer RGGB)", shutter="rolling",
        modes=(SensorMode(4056, 3040, 0x5dc0 / _IMX477_PIXEL_MHZ, 10.0, "rpi imx477.c"),
               SensorMode(2028, 1520, 0x31c4 / _IMX477_PIXEL_MHZ, 40.0, "rpi imx477.c"),
               SensorMode(2028, 1080, 0x31c4 / _IMX477_PIXEL_MHZ, 50.0, "rpi imx477.c"),
               SensorMode(1332, 990, 6664 / _IMX477_PIXEL_MHZ, 120.0, "rpi imx477.c")),
        trigger_input="", strobe_output="", pixel_format="RG12",
        opens="csi://N (Argus) or v4l2raw:///dev/videoN?format=RG12",
        default_sync="flash-window", exposure_margin_lines=22,
        v4l2_controls={"exposure": "exposure", "exposure_unit": "lines",
                       "gain": "analogue_gain"},
        sources={"line time": "rpi imx477.c (line_length_pix / 840 MHz)",
                 "modes": "rpi imx477.c; NVIDIA's Jetson modes differ (assumed same line "
                          "times, not in the stored sources)",
                 "trigger input": "none for exposures: rpi imx477.c's trigger_mode is XVS "
                                  "frame sync (1=source, 2=sink), not a per-frame trigger",
                 "exposure margin": "rpi imx477.c IMX477_EXPOSURE_OFFSET 22"}),
    CameraProfile(
        name="ov9281", camera="Arducam OV9281 1MP global-shutter mono module for Jetson (UC-599 "
                              "type, external-trigger board)",
        sensor="OmniVision OV9281 (mono, NIR-sensitive, global shutter)", shutter="global",
        modes=(SensorMode(1280, 800, _OV9281_LINE_US, 160e6 / (1456 * (800 + 110)),
                          "mainline ov9282.c: vblank_min 110"),
               SensorMode(1280, 720, _OV9281_LINE_US, 160e6 / (1456 * (720 + 41)),
                          "mainline ov9282.c: vblank_min 41"),
               SensorMode(640, 400, _OV9281_LINE_US, 160e6 / (1456 * (400 + 22)),
                          "mainline ov9282.c: hblank_min 816 + 640 = 1456, vblank_min 22")),
        trigger_input="XVS (FSIN) pin, 1.8 V logic: a level shifter from the Jetson's 3.3 V",
        strobe_output="STROBE pin of the sensor (1.8 V), if the module brings it out",
        pixel_format="Y10", opens="v4l2raw:///dev/videoN?format=Y10",
        default_sync="trigger", exposure_margin_lines=25,
        v4l2_controls={"exposure": "exposure", "exposure_unit": "lines",
                       "gain": "analogue_gain", "trigger": "trigger_mode"},
        sources={"line time": "mainline ov9282.c ((1280 + 176) / 160 MHz)",
                 "modes": "mainline ov9282.c; Arducam's Jetson driver assumed the same",
                 "trigger input": "Arducam trigger (XVS, 1.8 V, v4l2-ctl -c trigger_mode=1)",
                 "strobe output": "mainline ov9282.c drives the STROBE pin "
                                  "(V4L2_CID_FLASH_STROBE_OE); on the module: assumed",
                 "exposure margin": "mainline ov9282.c OV9282_EXPOSURE_OFFSET 25",
                 "pixel format": "mainline ov9282.c: MEDIA_BUS_FMT_Y10_1X10"}),
    CameraProfile(
        name="imx296", camera="Raspberry Pi Global Shutter Camera, mono IMX296LL variant (or "
                              "a mono IMX296 module with a Jetson driver)",
        sensor="Sony IMX296LL (mono, global shutter)", shutter="global",
        modes=(SensorMode(1456, 1088, _IMX296_LINE_US, 1e6 / (_IMX296_LINE_US * (1088 + 30)),
                          "mainline imx296.c: HMAX 1100 at 74.25 MHz, VMAX >= 1088 + 30"),),
        trigger_input="XTR pad, active low: a transistor (open drain) from a 3.3 V GPIO",
        strobe_output="", pixel_format="Y10", opens="v4l2raw:///dev/videoN?format=Y10",
        default_sync="trigger", exposure_margin_lines=0,
        v4l2_controls={"exposure": "exposure", "exposure_unit": "lines",
                       "gain": "analogue_gain"},
        trigger_exposure_offset_us=14.26,
        sources={"line time": "mainline imx296.c (1100 / 74.25 MHz)",
                 "trigger input": "RPi GS trigger (XTR; exposure = low pulse width + 14.26 us)",
                 "exposure margin": ASSUMED,
                 "strobe output": "none documented on Raspberry Pi's board",
                 "pixel format": "mainline imx296.c reads the mono IMX296LL as Y10"}),
    CameraProfile(
        name="bfs-u3-16s2m", camera="FLIR (Teledyne) Blackfly S BFS-U3-16S2M, USB3 Vision",
        sensor="Sony IMX273 (mono, global shutter)", shutter="global",
        modes=(SensorMode(1440, 1080, 1e6 / 226.0 / 1080, 226.0,
                          "assumed: FLIR's catalogue rate, line time = 1 / (226 fps x 1080)"),),
        trigger_input="Line 0, opto-isolated input (high 2.6-30 V, 9-18 us propagation)",
        strobe_output="Line 1, opto-isolated open-drain output, line source Exposure Active",
        pixel_format="GRAY16_LE (Mono16)",
        opens="gst://aravissrc camera-name=SERIAL exposure=US ! video/x-raw,format=GRAY16_LE",
        default_sync="sensor-strobe",
        sources={"line time": ASSUMED, "modes": ASSUMED,
                 "trigger input": "FLIR BFS I/O", "strobe output": "FLIR BFS I/O",
                 "exposure margin": ASSUMED}),
    CameraProfile(
        name="aca2500-14um", camera="Basler ace acA2500-14um, USB3 Vision, rolling shutter",
        sensor="onsemi MT9P031 (mono, electronic rolling shutter)", shutter="rolling",
        modes=(SensorMode(2592, 1944, 35.0, 14.0, "Basler ace flash window (tRow 35 us of the "
                          "acA2500-14gm, assumed the same for the um); 14 fps: model name"),),
        trigger_input="Line 1, opto-isolated input", strobe_output="Line 2 (opto output) or "
        "GPIO Line 3/4: the flash window signal (high while every row integrates)",
        pixel_format="GRAY16_LE (Mono12)",
        opens="gst://aravissrc camera-name=SERIAL exposure=US ! video/x-raw,format=GRAY16_LE",
        default_sync="sensor-strobe",
        sources={"line time": "Basler ace flash window (acA2500-14gm tRow = 35 us)",
                 "strobe output": "Basler ace flash window (6.8.2, flash window signal)",
                 "trigger input": "Basler ace flash window manual, 5.11.1 (Line 1)",
                 "exposure margin": ASSUMED}),
)}


def profile_names() -> str:
    return ", ".join(PROFILES)
