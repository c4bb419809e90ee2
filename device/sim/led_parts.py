"""NIR LEDs a builder can order, near 730 to 850 nm, with their datasheet centre wavelength,
bandwidth (FWHM) and radiant output, each with its source; "assumed" where none was found.

The paper's 718 / 777 / 807 nm came from a lab palette; these are catalogue parts. The simulator
gives each its own bandwidth (`RigSpec.led_fwhm_by_nm`), so `device sim floor --parts` ranks
the triples that can be bought, and the simulated rig renders any of them.

Output power is listed but not used by the ranking: the datasheets give it at different drive
currents and beam angles (radiant flux for some, intensity on axis for others), and the rig sets
each LED's drive so the print gets the same photon flux from each (`RigSpec.photon_flux`); the
figure says how much headroom a part has for that, not how bright the print is.

Sources (the stored datasheet copies read for this table):
- OSRAM GF CS8PM1.24 (OSLON SSL 80, far-red), datasheet v1.1 2015-12-21: "Color: 730 nm
  (far-red)", "Radiant Flux: typ. 231 mW" at 350 mA.
- OSRAM SFH 4703AS (OSLON Black, 810 nm), datasheet: centroid 810 nm, peak 820 nm, spectral
  bandwidth at 50 % 30 nm, radiant intensity 500-1000 mW/sr at 1 A (10 ms).
- Vishay TSHG8400 (830 nm, GaAlAs double hetero), datasheet rev. 1.2 2009-07-02: peak 830 nm,
  radiant intensity 70 mW/sr, +-22 deg.
- OSRAM SFH 4715AS (OSLON Black, 850 nm), datasheet v1.5 2019-04-01: centroid 850 nm, peak
  860 nm, spectral bandwidth at 50 % 30 nm, radiant intensity typ. 900 mW/sr at 1 A.
- EPIGAP ELJ-850-629 (Jumbo-LED, 850 nm), datasheet rev. 02 2007-11-15: radiant power 100 mW at
  350 mA, 280 mW at 1000 mA.
No stored datasheet was found for parts at 750, 760 and 780 nm (Marktech, Roithner and Thorlabs
sell them): those rows are placeholders with assumed figures, to be replaced from the datasheet
of the part actually bought.
"""
from __future__ import annotations

from dataclasses import dataclass

ASSUMED_FWHM_NM = 30.0     # the simulator's default, where no datasheet figure was found


@dataclass(frozen=True)
class LedPart:
    part: str
    maker: str
    centre_nm: int             # centroid where the datasheet gives one, else peak
    fwhm_nm: float
    output: str                # radiant power or intensity, at what drive
    source: str
    assumed: tuple[str, ...] = ()    # which of the figures no source gave

    def describe(self) -> str:
        return f"{self.maker} {self.part}".strip()


PURCHASABLE_LEDS: tuple[LedPart, ...] = (
    LedPart("GF CS8PM1.24 (OSLON SSL 80)", "OSRAM", 730, ASSUMED_FWHM_NM,
            "231 mW typ. at 350 mA", "OSRAM GF CS8PM1.24 datasheet v1.1", ("fwhm",)),
    LedPart("750 nm AlGaAs LED (any)", "", 750, ASSUMED_FWHM_NM, "assumed",
            "assumed: no stored datasheet", ("centre", "fwhm", "output")),
    LedPart("760 nm AlGaAs LED (any)", "", 760, ASSUMED_FWHM_NM, "assumed",
            "assumed: no stored datasheet", ("centre", "fwhm", "output")),
    LedPart("780 nm AlGaAs LED (any)", "", 780, ASSUMED_FWHM_NM, "assumed",
            "assumed: no stored datasheet", ("centre", "fwhm", "output")),
    LedPart("SFH 4703AS (OSLON Black)", "OSRAM", 810, 30.0,
            "500-1000 mW/sr at 1 A", "OSRAM SFH 4703AS datasheet"),
    LedPart("TSHG8400", "Vishay", 830, ASSUMED_FWHM_NM, "70 mW/sr at 100 mA",
            "Vishay TSHG8400 datasheet rev. 1.2", ("fwhm",)),
    LedPart("SFH 4715AS (OSLON Black)", "OSRAM", 850, 30.0, "900 mW/sr typ. at 1 A "
            "(EPIGAP ELJ-850-629: 280 mW at 1 A)", "OSRAM SFH 4715AS datasheet v1.5"),
)
PART_BY_NM: dict[int, LedPart] = {p.centre_nm: p for p in PURCHASABLE_LEDS}


def part_fwhms(wavelengths) -> tuple[tuple[int, float], ...]:
    """(nm, FWHM) of each wavelength that is a catalogue part: for `RigSpec.led_fwhm_by_nm`."""
    return tuple((int(nm), PART_BY_NM[int(nm)].fwhm_nm) for nm in wavelengths
                 if int(nm) in PART_BY_NM)
