"""`device sim`: look inside the simulated rig: ink readings (`inks`), the paper's Fig. 4
(`plot`), the material families against their check data (`materials`) and the per-pixel
Bayes floor with the LED choice made by it (`floor`)."""
from __future__ import annotations

import json
from pathlib import Path

from device.common.files import atomic_output
from device.common.errors import UserError
from device.sim.led_spectra import DATASET_LEDS, NIR_LEDS

PLOT_FORMATS = (".png", ".pdf", ".svg")
INK_COLOURS = {"cyan": "#00a0d8", "magenta": "#d0008a", "yellow": "#e0b000", "black": "#202020"}


def register(subparsers) -> None:
    parser = subparsers.add_parser("sim", help="inspect the simulated rig's inks and spectra")
    sub = parser.add_subparsers(dest="sim_command", metavar="SUBCOMMAND", required=True)

    inks = sub.add_parser("inks", help="normalised reflectance of each ink under LEDs")
    inks.add_argument("--at", default=",".join(map(str, NIR_LEDS)), metavar="NM,NM,...",
                      help="LED centre wavelengths in nm, 380..1000 (default: %(default)s)")
    inks.add_argument("--json", action="store_true", help="print JSON instead of a table")
    inks.add_argument("--write-csv", metavar="FILE",
                      help="write the sim's paper and ink spectra, 380-1000 nm, as the CSV "
                           "that `device sim floor --inks` reads (a template for measured inks)")
    inks.set_defaults(func=run_inks)

    plot = sub.add_parser("plot", help="draw the ink spectra with the dataset LEDs (paper Fig. 4)")
    plot.add_argument("--out", required=True, help="image file to write (.png, .pdf or .svg)")
    plot.set_defaults(func=run_plot)

    materials = sub.add_parser(
        "materials", help="the material families (skin, leaf, cloth) against their check data",
        description="Each material model of device/sim/materials against its check data: "
                    "NIST's forearms and CIE TCS13 (skin), CIE TCS14 (leaf), the CIE 2017 "
                    "colour evaluation samples (cloth); and each family's readings under LEDs.")
    materials.add_argument("--at", default=",".join(map(str, NIR_LEDS)), metavar="NM,NM,...",
                           help="LEDs for the readings table (default: %(default)s)")
    materials.set_defaults(func=run_materials)

    from device.commands import _sim_floor

    _sim_floor.register(sub, parse_wavelengths)


def parse_wavelengths(text: str, option: str = "--at") -> tuple[int, ...]:
    """'718,777,807' → (718, 777, 807); UserError naming `option` on anything else."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(380 <= nm <= 1000 for nm in values):
        raise UserError(f"{option}: expected comma-separated whole wavelengths in nm between 380 "
                        f"and 1000, got {text!r}.")
    return values


def run_inks(args) -> int:
    from device.sim.readings import ink_table

    if args.write_csv:
        from device.sim.ink_csv import write_inks_csv

        write_inks_csv(args.write_csv)
        print(f"wrote {args.write_csv}")
        return 0
    table = ink_table(parse_wavelengths(args.at))
    if args.json:
        print(json.dumps(table))
        return 0
    columns = list(next(iter(table.values())))
    print("normalised reflectance (solid patch / paper white) under each LED")
    print(f"{'surface':<9}" + "".join(f"{nm + ' nm':>9}" for nm in columns))
    for surface, row in table.items():
        print(f"{surface:<9}" + "".join(f"{row[nm]:>9.3f}" for nm in columns))
    return 0


def run_materials(args) -> int:
    import numpy as np

    from device.sim.materials import FAMILIES
    from device.sim.materials.checks import all_checks
    from device.sim.materials.readings import surface_colours

    leds = parse_wavelengths(args.at)
    print(f"{'family':<7}{'check':<42}{'data':>7}{'model':>8}  tolerance")
    for c in all_checks():
        print(f"{c.family:<7}{c.what:<42}{c.data:>7.3f}{c.model:>8.3f}  ±{c.tolerance:<6g}"
              f"{'ok' if c.passed else 'FAILED'}")
    print(f"\nreadings (normalised to paper white) and daylight colour of 2000 draws from each "
          f"prior: median [10th-90th percentile]")
    columns = [f"{nm} nm" for nm in leds] + ["L*", "a*", "b*"]
    print(f"{'family':<7}" + "".join(f"{c:<20}" for c in columns))
    for name, family in FAMILIES.items():
        colours = surface_colours(family, family.sample(np.random.default_rng(0), 2000), leds)
        cells = [f"{np.median(v):.2f} [{np.percentile(v, 10):.2f}, {np.percentile(v, 90):.2f}]"
                 for v in colours.readings.T]
        cells += [f"{np.median(v):.0f} [{np.percentile(v, 10):.0f}, {np.percentile(v, 90):.0f}]"
                  for v in colours.lab.T]
        print(f"{name:<7}" + "".join(f"{c:<20}" for c in cells))
    return 0


def run_plot(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in PLOT_FORMATS:
        raise UserError(f"--out {out}: the file name must end in one of {', '.join(PLOT_FORMATS)}.")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from device.sim.led_spectra import DEFAULT_FWHM_NM, led_emission
    from device.sim.spectra import INKS, WAVELENGTHS, normalised_reflectance

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for nm in DATASET_LEDS:   # each LED's emission as a faint band, its centre as a line
        ax.fill_between(WAVELENGTHS, 0, 1.05 * led_emission(nm, DEFAULT_FWHM_NM, WAVELENGTHS),
                        color="#bbbbbb" if nm in NIR_LEDS else "#dddddd", alpha=0.5, lw=0)
        ax.axvline(nm, color="#888888", lw=0.8, ls="--")
        ax.text(nm, 1.07, f"{nm}", ha="center", va="bottom", fontsize=8, color="#555555")
    for ink in INKS:
        ax.plot(WAVELENGTHS, normalised_reflectance(ink, WAVELENGTHS), color=INK_COLOURS[ink],
                lw=2, label=ink)
    ax.set(xlim=(380, 1000), ylim=(0, 1.15), xlabel="wavelength (nm)",
           ylabel="normalised reflectance (ink / paper)",
           title="Simulated CMYK inks and the six dataset LEDs (cf. Browne et al. 2022, Fig. 4)")
    ax.title.set_fontsize(10)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.12), fontsize=8, framealpha=0.9)
    fig.tight_layout()
    with atomic_output(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lower().lstrip("."))
    plt.close(fig)
    print(f"wrote {out}")
    return 0
