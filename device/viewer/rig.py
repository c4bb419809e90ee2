"""The configured rig: each role's options built from the config, its backend picked by the
URI's scheme. The one place where a role is given what it needs of other sections (the
display the camera's frame rate, the camera the strobe's sync and the LED bank)."""
from __future__ import annotations

from typing import Callable

from device.engines.engine import ENGINES, Engine, EngineOptions
from device.engines.model_card import ModelCard
from device.viewer.cameras import CAMERAS, Camera, CameraOptions
from device.viewer.config import Config
from device.viewer.displays import DISPLAYS, Display, DisplayOptions
from device.viewer.exposure_plan import ExposurePlan, plan_exposure
from device.viewer.leds import LEDS, LedOptions, Leds
from device.viewer.sections import StrobeConfig
from device.viewer.strobe import LedPlan, Strobe


def led_options(config: Config) -> LedOptions:
    return LedOptions(tuple(config.strobe.wavelengths), dict(config.leds.pins),
                      config.leds.trigger_pin)


def camera_options(config: Config, leds: Leds) -> CameraOptions:
    return CameraOptions(config.camera, config.strobe.sync, leds, config.resolve, config.sim,
                         exposure_plan(config))


def exposure_plan(config: Config) -> ExposurePlan:
    """The strobe's timing for this camera: what the strobe and the camera both follow."""
    return plan_exposure(config.camera, config.strobe)


def make_strobe(config: Config, leds: Leds, camera: Camera,
                strobe: StrobeConfig | None = None, exposures: LedPlan | None = None) -> Strobe:
    """The strobe for this rig, on the timing plan the camera was opened with; `strobe`: other
    phases than the config's (calibration strobes one LED at a time); `exposures`: each
    phase's on-time and gain (automatic exposure's), else the configured ones."""
    c = config.camera
    return Strobe(leds, camera, strobe or config.strobe, c.exposure_ms / 1e3, 1.0 / c.fps,
                  plan=exposure_plan(config), exposures=exposures, gain=c.gain)


def display_options(config: Config) -> DisplayOptions:
    return DisplayOptions(config.camera.fps, config.resolve)


def open_leds(config: Config) -> Leds:
    return LEDS.open(config.leds.uri, led_options(config))


def open_camera(config: Config, leds: Leds) -> Camera:
    return CAMERAS.open(config.camera.uri, camera_options(config, leds))


def open_display(config: Config) -> Display:
    return DISPLAYS.open(config.display.uri, display_options(config))


def open_engine(config: Config, card: ModelCard, status: Callable[[str], None]) -> Engine:
    """The engine running the card's viewer graph as `engine.uri` names it; a TensorRT engine
    that cannot load falls back to onnxruntime (device.engines.engine.onnx_fallback)."""
    return ENGINES.open(config.engine.uri, EngineOptions(card, config.resolve, status))
