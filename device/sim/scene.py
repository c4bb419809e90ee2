"""`PrintedScene`: a CMYK print of an RGB image on the simulated rig, captured LED by LED."""
from __future__ import annotations

import zlib

import cv2
import numpy as np

from device.captures.format import Exposure
from device.captures.truth import PAPER_TRUTH_NM, paper_truth
from device.sim.camera import flat_field, lens_blur, read_out, silicon_qe
from device.sim.led_spectra import led_emission
from device.sim.printing import PrintedSpectra, Printer, SpectralProjection
from device.sim.rig_spec import RigSpec
from device.sim.spectra import WAVELENGTHS

TRUTH_MODES = ("human", "paper")


def _planck(nm: np.ndarray, kelvin: float) -> np.ndarray:
    """Relative spectral radiance of a black body (CIE illuminant A is 2856 K); unlike the
    tabulated illuminant it extends through the NIR, where room light is strong."""
    lam = nm * 1e-9
    return 1.0 / (lam**5 * np.expm1(1.4388e-2 / (lam * kelvin)))


def sensor_weight(rig: RigSpec, nm: int | None, qe: np.ndarray | None = None) -> np.ndarray:
    """Electrons per unit reflectance at each 1 nm wavelength, for one exposure under LED `nm`
    (None: room light alone); `qe` is the sensor's quantum efficiency on WAVELENGTHS, if known."""
    if nm is None:
        spd = _planck(WAVELENGTHS, 2856.0)
        flux = rig.ambient
    else:
        spd = led_emission(nm, rig.fwhm(nm), WAVELENGTHS)
        flux = rig.photon_flux
    if qe is None:
        qe = silicon_qe(WAVELENGTHS, rig.qe, rig.si_depth_um)
    return flux * rig.exposure * spd / spd.sum() * qe


class PrintedScene:
    """A print under the rig. `signal(nm)` is the noiseless expected frame; `capture`,
    `dark` and `white` are noisy raw frames; `ground_truth` is the RGB a model should produce.

    Geometry: the print may move (hand-held jitter) while lens blur, illumination fall-off and
    vignetting stay fixed to the camera, so motion warps the print's radiance, not the frame.
    """

    def __init__(self, rgb: np.ndarray, rig: RigSpec = RigSpec(), seed: int = 0,
                 printer: Printer = Printer()):
        self.rig = rig
        self.seed = seed
        self.print = PrintedSpectra.from_rgb(rgb, printer)
        self.shape = self.print.shape
        # `seed` is the camera's identity: its fixed-pattern gain spread is the same in every
        # scene made with the same seed, as it is on a real sensor.
        self._flat = flat_field(self.shape, rig.vignetting, rig.prnu,
                                np.random.default_rng([seed, 0xF1A7]))
        self._qe = silicon_qe(WAVELENGTHS, rig.qe, rig.si_depth_um)
        self._paper = printer.inks.paper(WAVELENGTHS)   # what the print is printed on
        self._radiance: dict[int | None, np.ndarray] = {}   # blurred print, electrons, no fall-off
        self._signal: dict[int | None, np.ndarray] = {}
        self._truth: dict[str, np.ndarray] = {}

    # -- light reaching the sensor ------------------------------------------------------------
    def _sensor_weight(self, nm: int | None) -> np.ndarray:
        if nm is not None and nm not in self.rig.leds:
            raise ValueError(f"the rig has no {nm} nm LED (it has {list(self.rig.leds)})")
        return sensor_weight(self.rig, nm, self._qe)

    def _print_radiance(self, nm: int | None) -> np.ndarray:
        if nm not in self._radiance:
            weight = self._sensor_weight(nm)
            if not weight.any():
                radiance = np.zeros(self.shape, dtype=np.float32)
            else:
                projection = SpectralProjection.from_density(weight)
                radiance = lens_blur(self.print.project(projection)[..., 0], self.rig.blur)
            self._radiance[nm] = radiance
        return self._radiance[nm]

    def _electrons(self, nm: int | None, motion: np.ndarray | None = None,
                   exposure: Exposure | None = None) -> np.ndarray:
        radiance = self._print_radiance(nm)
        if exposure is not None:      # the LEDs scale with light and time, room light with time
            radiance = radiance * np.float32(exposure.photons / self.rig.exposure)
        if nm is not None and self.rig.ambient > 0:
            ambient = self._print_radiance(None)               # room light adds to every frame
            if exposure is not None:
                ambient = ambient * np.float32(exposure.exposure_ms / self.rig.exposure)
            radiance = radiance + ambient
        if motion is not None:
            h, w = self.shape
            radiance = cv2.warpAffine(radiance, np.asarray(motion, dtype=np.float64), (w, h),
                                      flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        return radiance * self._flat

    def _white_electrons(self, nm: int | None) -> np.ndarray:
        """Blank paper: uniform, so blur does nothing and the spectrum is the paper's."""
        electrons = float(self._sensor_weight(nm) @ self._paper)
        if nm is not None and self.rig.ambient > 0:
            electrons += float(self._sensor_weight(None) @ self._paper)
        return self._flat * np.float32(electrons)

    # -- the contract -------------------------------------------------------------------------
    @property
    def flat(self) -> np.ndarray:
        """The camera's relative response over the frame (fall-off x gain spread), fixed to
        the camera: a moving print moves under it (the simulated camera divides it out before
        warping the print and applies it after)."""
        return self._flat

    def signal(self, nm: int | None) -> np.ndarray:
        """Noiseless expected raw frame (ADU, float32 HxW) under LED `nm` (None: LEDs off)."""
        if nm not in self._signal:
            adu = self._electrons(nm) * np.float32(1.0 / self.rig.gain_e_per_adu)
            adu += np.float32(self.rig.dark_offset)
            self._signal[nm] = np.minimum(adu, np.float32(self.rig.adc_max))
        return self._signal[nm]

    def capture(self, nm: int | None, rng: np.random.Generator,
                motion: np.ndarray | None = None, exposure: Exposure | None = None
                ) -> np.ndarray:
        """Raw uint16 frame (adc_bits values) under LED `nm`; `motion` is a 2x3 affine moving
        the print (from `random_motion`); `exposure`, another light, exposure time or gain
        than the rig's nominal one (`RigSpec.under`)."""
        rig = self.rig if exposure is None else self.rig.under(exposure)
        return read_out(self._electrons(nm, motion, exposure), self.shape, rig, rng)

    def dark(self, rng: np.random.Generator) -> np.ndarray:
        """Lens-capped reference frame: offset and read noise only."""
        return read_out(None, self.shape, self.rig, rng)

    def white(self, nm: int | None, rng: np.random.Generator) -> np.ndarray:
        """Blank paper under LED `nm`: the white reference every channel is normalised to."""
        return read_out(self._white_electrons(nm), self.shape, self.rig, rng)

    def ground_truth(self, mode: str = "human") -> np.ndarray:
        """HxWx3 sRGB float32 in [0, 1].

        `human`: the print's colour for the CIE 1931 2° observer under D65, relative to the
        paper white (what a person sees in daylight), through the same lens blur as the
        captures so that truth and inputs stay pixel-aligned.
        `paper`: as the paper did — the 604, 529 and 447 nm captures, each normalised to the
        white reference, merged as R, G and B."""
        if mode not in TRUTH_MODES:
            raise ValueError(f"ground-truth mode must be one of {TRUTH_MODES}, got {mode!r}")
        if mode not in self._truth:
            self._truth[mode] = self._human_truth() if mode == "human" else self._paper_truth()
        return self._truth[mode]

    def _human_truth(self) -> np.ndarray:
        from device.sim.colorimetry import xyz_to_srgb, xyz_weights

        weights = xyz_weights()
        xyz = self.print.project(SpectralProjection.from_density(weights))
        xyz = np.stack([lens_blur(xyz[..., i], self.rig.blur) for i in range(3)], axis=-1)
        return xyz_to_srgb(xyz, self._paper @ weights)

    def _paper_truth(self) -> np.ndarray:
        missing = [nm for nm in PAPER_TRUTH_NM if nm not in self.rig.leds]
        if missing:
            raise ValueError(f"the paper's ground truth needs LEDs {sorted(PAPER_TRUTH_NM)} nm; "
                             f"the rig lacks {missing}")
        # sensor noise must differ between prints made with one camera (one seed)
        rng = np.random.default_rng([self.seed, zlib.crc32(self.print.coverage.tobytes())])
        dark = self.dark(rng)
        raws, whites = {}, {}
        for nm in PAPER_TRUTH_NM:      # capture before white, per LED: the noise draws' order
            raws[nm] = self.capture(nm, rng)
            whites[nm] = self.white(nm, rng)
        return paper_truth(raws, dark, whites)


def random_motion(rng: np.random.Generator, max_shift_px: float, max_rot_deg: float,
                  size: tuple[int, int]) -> np.ndarray:
    """2x3 affine of hand-held jitter: a rotation about the frame centre of up to
    `max_rot_deg` and a shift of up to `max_shift_px` in x and y; `size` is (H, W)."""
    h, w = size
    angle = rng.uniform(-max_rot_deg, max_rot_deg)
    matrix = np.asarray(cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0),
                        np.float64)
    matrix[:, 2] += rng.uniform(-max_shift_px, max_shift_px, size=2)
    return matrix
