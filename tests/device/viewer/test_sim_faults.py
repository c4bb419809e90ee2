"""The simulated rig's faults (device/simulated/sim_wiring.py, sim_engine.py, faults.py): each
does what a real one would, the lines recorded as the software drove them."""
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from device.common.errors import UserError
from device.engines.engine import ENGINES, EngineOptions
from device.engines.model_card import load_model_card
from device.engines.parity import srgb_psnr_db
from device.procedures.calibration import on_blank_paper
from device.procedures.selftest.session import RigSession
from device.simulated.faults import CLIP_AT, FAULTS, inject
from device.simulated.presets import SHIPPED_MODEL, sim_config
from device.simulated.sim_engine import open_sim_engine
from device.simulated.sim_leds import SimLeds
from device.simulated.sim_wiring import sim_wiring
from device.viewer.config import load_config
from device.viewer.leds import LEDS, LedOptions

NIR = (718, 777, 807)


def bank(uri: str, clock) -> SimLeds:
    leds = LEDS.open(uri, LedOptions(NIR, {}, None))
    leds.clock = clock
    return leds


def test_swapped_lines_light_each_others_led_and_record_the_lines_driven(fake_clock):
    leds = bank("sim://?swap=718:777", fake_clock)
    t0 = fake_clock()
    leds.set(718)
    fake_clock.t += 0.010
    leds.set(807)
    fake_clock.t += 0.010
    leds.off()
    assert leds.lit_intervals(t0, fake_clock()) == [(777, t0, t0 + 0.010),
                                                     (807, t0 + 0.010, t0 + 0.020)]
    assert [e.line for e in leds.edges] == ["718", "718", "807", "807"]


def test_a_dead_led_lights_nothing_and_a_dead_trigger_reaches_no_camera(fake_clock):
    leds = bank("sim://?dead=807,trigger", fake_clock)
    t0 = fake_clock()
    leds.set(807)
    fake_clock.t += 0.010
    leds.off()
    leds.pulse_trigger()
    assert leds.lit_intervals(t0, fake_clock()) == []
    assert leds.triggers == 0 and leds.last_trigger is None
    assert [e.line for e in leds.edges] == ["807", "807", "trigger", "trigger"]
    healthy = bank("sim://", fake_clock)
    healthy.pulse_trigger()
    assert healthy.triggers == 1


@pytest.mark.parametrize("uri, message", [
    ("sim://?swap=718", "swap must be two wavelengths, NM:NM"),
    ("sim://?swap=718:718", "swap must name two different LEDs"),
    ("sim://?dead=red", "dead takes LED wavelengths in nm or 'trigger', not 'red'"),
    ("sim://?bright=2", "unknown parameter(s) bright"),
])
def test_a_malformed_wiring_fault_is_refused_when_the_config_is_read(uri, message):
    with pytest.raises(UserError, match=r"^leds.uri '.*?'.*" + message.replace("(", r"\(")
                       .replace(")", r"\)")):
        LEDS.parse(uri)


def test_a_fault_on_an_led_the_bank_lacks_is_refused_at_open():
    with pytest.raises(UserError, match="names 850 nm, which is not among the bank's LEDs"):
        sim_wiring(LEDS.parse("sim://?dead=850"), NIR)


def test_the_perturbed_engine_misses_its_reference_by_the_noise_it_adds():
    card = load_model_card(SHIPPED_MODEL.with_suffix(".json"))
    engine = open_sim_engine(ENGINES.parse(f"sim://{SHIPPED_MODEL}?perturb=8"),
                             EngineOptions(card, Path, lambda line: None))
    grey = np.full((64, 80, 3), 128, np.uint8)
    engine.inner.run = lambda feeds: {"srgb": grey}      # a constant output, for the arithmetic
    noisy = engine.run({})["srgb"]
    # Gaussian noise of 8 codes rms, rounded: 20 log10(255 / 8) = 30.07 dB (rounding adds
    # 1/12 code^2, 0.006 dB); 5120 pixels x 3 give the rms to 1 %.
    assert noisy.dtype == np.uint8
    assert srgb_psnr_db(grey, noisy) == pytest.approx(30.07, abs=0.1)
    with pytest.raises(UserError, match="CODES from 0 to 255"):
        ENGINES.parse(f"sim://{SHIPPED_MODEL}?perturb=300")


def test_each_fault_is_a_config_change_a_file_can_carry(tmp_path):
    config = sim_config(tmp_path)
    for name, fault in FAULTS.items():
        changed, (said,) = inject(config, [name])
        assert changed != config, name
        key, _, value = said.partition(" = ")
        section, field = key.split(".")
        text = f"[{section}]\n{field} = {value}\n"
        if section != "engine":
            text += f"[engine]\nuri = \"onnx://{SHIPPED_MODEL}\"\n"
        (tmp_path / f"{name}.toml").write_text(text)
        loaded = load_config(tmp_path / f"{name}.toml")
        assert getattr(getattr(loaded, section), field) == getattr(getattr(changed, section),
                                                                   field), name
    real = dataclasses.replace(config, camera=dataclasses.replace(config.camera,
                                                                  uri="v4l2:///dev/video0"))
    with pytest.raises(UserError, match="--fault injects faults into the simulated rig"):
        inject(real, ["dead-led"])


def test_the_clipping_fault_takes_the_brightest_paper_past_full_scale(tmp_path):
    """The gain comes from the simulated rig's model of the light (expected_light); checked
    here against the paper the simulated camera renders at gain 1."""
    config = on_blank_paper(sim_config(tmp_path, exposure_ms=8.0, width=128, height=96))
    session = RigSession(config)
    try:
        dark = session.one_phase(None, 2)[-1].image.astype(float)
        lit = np.mean([s.image for s in session.one_phase(718, 3)], axis=0)
    finally:
        session.close()
    centre = float(np.mean((lit - dark)[40:56, 56:72]))
    changed, (said,) = inject(config, ["clipping"])
    assert said == f"camera.gain = {changed.camera.gain:g}"
    # CLIP_AT of the 4095 - 64 codes above the simulated camera's dark offset, at the centre.
    assert changed.camera.gain * centre == pytest.approx(CLIP_AT * (4095 - 64), rel=0.02)


def test_closing_the_bank_drives_every_line_low_whatever_its_bookkeeping_says(fake_clock):
    leds = bank("sim://", fake_clock)
    leds.set(777)
    leds.lit = None          # an interrupt between the line's write and the record of it
    leds.off()
    assert leds.high_lines() == [777]                  # off() trusts the bookkeeping
    leds.close()
    assert leds.high_lines() == [] and leds.edges[-1].line == "777" and not leds.edges[-1].high
