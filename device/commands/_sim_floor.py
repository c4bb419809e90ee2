"""`device sim floor`: the per-pixel Bayes floor of the simulated rig (`device.sim.floor`), and
the LED choice made with it (`--choose`)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device.common.errors import UserError
from device.sim.led_parts import PURCHASABLE_LEDS, part_fwhms
from device.sim.led_spectra import NIR_LEDS, PALETTE_LEDS

DEFAULT_COLOURS = 3000          # random colours judged when no --images are given
DEFAULT_RANKING_COLOURS = 1000  # ... and per subset with --choose (every subset sees the same)
DEFAULT_PIXELS = 4096           # pixels sampled from each --images file
DEFAULT_RANGE = "700-1000"
MATERIALS = ("ink", "skin", "leaf", "cloth")    # device.sim.materials.FAMILIES


def register(sub, parse_wavelengths) -> None:
    p = sub.add_parser(
        "floor", help="per-pixel Bayes floor: the least ΔE00 any estimator reaches from one "
                      "pixel's readings; rank LED sets by it",
        description="Print reference colours with the sim's printer, read them under the LEDs "
                    "(normalised to white), and for every judged pixel take the posterior-mean "
                    "colour (CIELAB) of its noisy reading over the prior; report mean and "
                    "90th-percentile ΔE00 against the pixel's true colour.")
    p.add_argument("--leds", default=None, metavar="NM,NM,...",
                   help=f"LED centre wavelengths in nm (default: {','.join(map(str, NIR_LEDS))})")
    p.add_argument("--noise", default="rig", metavar="rig|PCT",
                   help="'rig': the sim camera's shot + read noise at its exposure (default); "
                        "or a constant Gaussian sigma in percent of paper white, e.g. 2")
    p.add_argument("--light", default=None, metavar="F",
                   help="with --noise rig: photons relative to the rig's nominal exposure (10 ms "
                        "at its LED flux), e.g. 0.25 or 2 (default 1)")
    p.add_argument("--exposure-ms", type=float, default=None, metavar="MS",
                   help="with --noise rig: the exposure time at the rig's LED flux (default 10; "
                        "with --light, both multiply)")
    p.add_argument("--prior", nargs="+", default=["uniform"], metavar="uniform|PATH",
                   help="what may have been printed: uniform sRGB colours (default) or the "
                        "pixels of images (files, or folders of them)")
    p.add_argument("--uniform-mass", type=float, default=None, metavar="FRACTION",
                   help="with an image prior: share of the prior on uniform colours, e.g. 0.1 "
                        "(default 0)")
    p.add_argument("--references", type=int, default=None, metavar="N",
                   help="reference colours in the posterior sum (default 32768)")
    p.add_argument("--images", nargs="+", metavar="PATH",
                   help="images or folders whose pixels are judged (default: random colours)")
    p.add_argument("--colours", type=int, default=None, metavar="N",
                   help=f"random sRGB colours judged without --images (default "
                        f"{DEFAULT_COLOURS}; {DEFAULT_RANKING_COLOURS} with --choose)")
    p.add_argument("--pixels", type=int, default=None, metavar="N",
                   help=f"pixels sampled from each --images file (default {DEFAULT_PIXELS})")
    p.add_argument("--choose", type=int, default=None, metavar="K",
                   help="rank every K-LED subset of the paper's 31-LED palette by the floor")
    p.add_argument("--from", dest="range", default=None, metavar="LO-HI",
                   help=f"with --choose: palette LEDs from LO to HI nm (default {DEFAULT_RANGE})")
    p.add_argument("--parts", action="store_true",
                   help="rank the LEDs a builder can buy (device/sim/led_parts.py) instead of "
                        "the paper's palette, each with its own bandwidth (--choose defaults "
                        "to 3)")
    p.add_argument("--fwhm", metavar="NM:FWHM,...", default=None,
                   help="an LED's bandwidth in nm where it differs (default: a catalogue "
                        "part's own, else 30)")
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="with --choose: rows to print (--json lists every subset)")
    p.add_argument("--material", default=None, metavar="|".join(MATERIALS),
                   help="what the pixels are made of: the prior and the judged pixels are that "
                        "family's surfaces (skin, leaves, dyed cloth: device/sim/materials); "
                        "'ink' (the default) is the printer with the uniform sRGB prior")
    p.add_argument("--inks", metavar="FILE",
                   help="measured ink spectra (CSV: nm,cyan,magenta,yellow,black[,paper]; "
                        "see `device sim inks --write-csv`) replacing the sim's inks")
    p.add_argument("--seed", type=int, default=0, help="seed of colours, pixels and noise")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=lambda args: run_floor(args, parse_wavelengths))


# -- options ----------------------------------------------------------------------------------
def _exposed(args, rig):
    """The rig at `--light` and `--exposure-ms` (its nominal exposure where not given)."""
    from device.captures.format import Exposure

    from device.sim.light import parse_level

    if args.light is not None:      # the same knob as `device capture --light`, `device demo`'s
        args.light = parse_level(args.light, "--light")
    if args.exposure_ms is not None and not 0 < args.exposure_ms < float("inf"):
        raise UserError(f"--exposure-ms must be a positive number, got {args.exposure_ms:g}.")
    given = [o for o, v in (("--light", args.light), ("--exposure-ms", args.exposure_ms))
             if v is not None]
    if given and args.noise != "rig":
        raise UserError(f"{' and '.join(given)} {'set' if len(given) > 1 else 'sets'} the "
                        f"rig's noise; --noise {args.noise} "
                        f"replaces it with a constant σ, so give one or the other.")
    if not given:
        return rig
    return rig.under(Exposure(args.exposure_ms or rig.exposure, 1.0,
                              1.0 if args.light is None else args.light))


def _noise(text: str, rig, leds, printer):
    from device.sim.floor import ConstantNoise, camera_noise

    if text == "rig":
        return camera_noise(rig, leds, printer)
    try:
        pct = float(text)
    except ValueError:
        pct = float("nan")
    if not 0 < pct < 100:
        raise UserError(f"--noise: expected 'rig' or a percentage of white between 0 and 100, "
                        f"got {text!r}.")
    return ConstantNoise(pct / 100.0)


def _range(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in text.split("-"))
    except ValueError:
        lo = hi = -1
    if not 380 <= lo < hi <= 1000:
        raise UserError(f"--from: expected a range of whole nm like 700-1000 within "
                        f"380..1000, got {text!r}.")
    return lo, hi


def _count(value: int | None, default: int, option: str, low: int) -> int:
    value = default if value is None else value
    if value < low:
        raise UserError(f"{option} must be at least {low}, got {value}.")
    return value


def _image_files(path_text: str, option: str) -> list[Path]:
    from device.content.prints import list_prints

    path = Path(path_text)
    if path.is_file():
        return [path]
    if path.is_dir():
        return list_prints(path, option)
    raise UserError(f"{option} {path}: no such file or folder.")


def _load(files: list[Path]) -> list[np.ndarray]:
    from device.content.prints import read_rgb   # the one image reader of the content module

    return [read_rgb(f) for f in files]


@dataclass
class _Judged:
    """What the floor is measured on: artwork pixels and, per source image, their row range."""
    rgb: np.ndarray
    groups: list[tuple[str, int, int]]
    description: str


def _judged(args, rng) -> _Judged:
    from device.sim.floor import uniform_rgb

    if not args.images:
        if args.pixels is not None:
            raise UserError("--pixels sets how many pixels of each --images file are judged; "
                            "without --images random colours are judged (--colours).")
        default = DEFAULT_RANKING_COLOURS if args.choose else DEFAULT_COLOURS
        n = _count(args.colours, default, "--colours", 10)
        return _Judged(uniform_rgb(n, rng), [], f"{n} uniform random sRGB colours")
    if args.colours is not None:
        raise UserError("--colours sets how many random colours are judged; with --images the "
                        "images' pixels are judged (--pixels per image).")
    per_image = _count(args.pixels, DEFAULT_PIXELS, "--pixels", 10)
    files = [f for text in args.images for f in _image_files(text, "--images")]
    parts, groups, start = [], [], 0
    for path, image in zip(files, _load(files)):
        flat = image.reshape(-1, 3)
        pick = rng.choice(len(flat), min(per_image, len(flat)), replace=False)
        parts.append(flat[np.sort(pick)].astype(np.float32) / np.float32(255.0))
        groups.append((str(path), start, start + len(pick)))
        start += len(pick)
    return _Judged(np.concatenate(parts), groups,
                   f"{start} pixels of {len(files)} image(s), up to {per_image} each")


def _prior(args, rng):
    """(artwork colours N × 3, log prior weights or None, description)."""
    from device.sim.floor import DEFAULT_REFERENCES, image_pixels, mixture_log_prior, uniform_rgb

    n = _count(args.references, DEFAULT_REFERENCES, "--references", 256)
    if "uniform" in args.prior:
        if len(args.prior) > 1:
            raise UserError("--prior takes 'uniform' alone or image paths; for a mix of both "
                            "give the images and --uniform-mass.")
        if args.uniform_mass is not None:
            raise UserError("--uniform-mass mixes uniform colours into an image prior; "
                            "--prior uniform is uniform already.")
        return uniform_rgb(n, rng), None, f"uniform sRGB ({n} printed colours)"
    mass = 0.0 if args.uniform_mass is None else args.uniform_mass
    if not 0.0 <= mass <= 1.0:
        raise UserError(f"--uniform-mass must be a fraction from 0 to 1, got {mass:g}.")
    files = [f for text in args.prior for f in _image_files(text, "--prior")]
    if mass == 0.0:
        return (image_pixels(_load(files), n, rng), None,
                f"pixels of {len(files)} image(s) ({n} printed colours)")
    if mass == 1.0:
        return uniform_rgb(n, rng), None, f"uniform sRGB ({n} printed colours)"
    # Each component gets half the references; the weights, not the counts, set its mass, so
    # a small uniform share is still sampled finely enough to catch an unseen colour.
    n_image = n // 2
    rgb = np.concatenate([image_pixels(_load(files), n_image, rng), uniform_rgb(n - n_image, rng)])
    return (rgb, mixture_log_prior([n_image, n - n_image], [1.0 - mass, mass]),
            f"{1 - mass:g} pixels of {len(files)} image(s) + {mass:g} uniform sRGB "
            f"({n} printed colours)")


def _material(args):
    """The family of `--material`, or None for ink (the printer's own path, every option)."""
    if args.material is None or args.material == "ink":
        return None
    if args.material not in MATERIALS:
        raise UserError(f"--material: expected one of {', '.join(MATERIALS)}, got "
                        f"{args.material!r}.")
    given = [opt for opt, value in (("--images", args.images), ("--pixels", args.pixels),
                                    ("--uniform-mass", args.uniform_mass))
             if value is not None]
    if args.prior != ["uniform"]:
        given.append("--prior")
    if given:
        raise UserError(f"{', '.join(given)} choose printed pixels and priors; with --material "
                        f"{args.material} both are that family's surfaces.")
    from device.sim.materials import FAMILIES

    return FAMILIES[args.material]


def _material_floor(args, family, leds, rig, printer, noise):
    """Prior and judged pixels both drawn from `family`'s prior (separate streams)."""
    from device.sim.floor import DEFAULT_REFERENCES, BayesFloor
    from device.sim.materials.readings import surface_colours

    n_refs = _count(args.references, DEFAULT_REFERENCES, "--references", 256)
    n = _count(args.colours, DEFAULT_RANKING_COLOURS if args.choose else DEFAULT_COLOURS,
               "--colours", 10)
    refs = family.sample(np.random.default_rng([args.seed, 1]), n_refs)
    judged = family.sample(np.random.default_rng([args.seed, 2]), n)
    floor = BayesFloor(surface_colours(family, refs, leds, rig, printer),
                       surface_colours(family, judged, leds, rig, printer), noise,
                       seed=args.seed)
    return floor, _Judged(judged, [], f"{n} {family.name} surfaces from its prior"), \
        f"{family.name} ({n_refs} surfaces drawn from the family's prior)"


def _summary(result) -> dict:
    return {"leds": list(result.leds), "mean_de00": round(result.mean_de00, 3),
            "p90_de00": round(result.p90_de00, 3)}


# -- the command ------------------------------------------------------------------------------
def run_floor(args, parse_wavelengths) -> int:
    from device.sim.floor import BayesFloor, print_colours
    from device.sim.printing import Printer
    from device.sim.rig_spec import RigSpec

    start = time.perf_counter()
    leds = _leds(args, parse_wavelengths)
    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}.")
    printer = Printer()
    if args.inks:
        from device.sim.ink_csv import read_inks_csv

        printer = Printer(inks=read_inks_csv(args.inks))
    rig = RigSpec(led_fwhm_by_nm=_bandwidths(args, leds))
    # The light sets only the noise: readings are normalised to paper white at any exposure.
    noise = _noise(args.noise, _exposed(args, rig), leds, printer)
    family = _material(args)
    if family is not None:
        floor, judged, prior_text = _material_floor(args, family, leds, rig, printer, noise)
    else:
        # separate streams: the judged pixels do not change with the prior or its size
        ref_rgb, log_prior, prior_text = _prior(args, np.random.default_rng([args.seed, 1]))
        judged = _judged(args, np.random.default_rng([args.seed, 2]))
        floor = BayesFloor(print_colours(ref_rgb, leds, rig, printer),
                           print_colours(judged.rgb, leds, rig, printer), noise, log_prior,
                           seed=args.seed)
    context = {"prior": prior_text, "judged": judged.description,
               "noise": noise.describe(leds), "inks": printer.inks.source,
                "material": args.material or "ink",
               "fwhm": ", ".join(f"{nm}: {rig.fwhm(nm):g}" for nm in leds) + " nm FWHM"}
    if args.choose is not None:
        ranking = floor.rank(leds, args.choose)
        _print_ranking(args, ranking, context, time.perf_counter() - start)
    else:
        _print_floor(args, floor.evaluate(leds), judged, context, time.perf_counter() - start)
    return 0


def _leds(args, parse_wavelengths) -> tuple[int, ...]:
    """The LEDs judged: --leds, or the candidates --choose ranks (palette or parts)."""
    if args.parts and args.choose is None:
        args.choose = 3
    if args.choose is not None:
        if args.leds is not None:
            raise UserError("--choose picks the LEDs itself; leave out --leds.")
        lo, hi = _range(args.range or DEFAULT_RANGE)
        pool = [p.centre_nm for p in PURCHASABLE_LEDS] if args.parts else PALETTE_LEDS
        candidates = [nm for nm in pool if lo <= nm <= hi]
        what = "purchasable parts" if args.parts else "palette"
        if not 1 <= args.choose <= len(candidates):
            raise UserError(f"--choose {args.choose}: the {what} has {len(candidates)} LEDs "
                            f"in {lo}-{hi} nm ({', '.join(map(str, candidates))}).")
        return tuple(candidates)
    if args.range is not None:
        raise UserError("--from names the palette range that --choose picks from; "
                        "give --choose K as well.")
    leds = NIR_LEDS if args.leds is None else parse_wavelengths(args.leds, "--leds")
    if len(set(leds)) != len(leds):
        raise UserError(f"--leds names a wavelength twice: {list(leds)}.")
    return tuple(leds)


def _bandwidths(args, leds: tuple[int, ...]) -> tuple[tuple[int, float], ...]:
    """Each catalogue part's own FWHM, then --fwhm NM:FWHM,... over them."""
    widths = dict(part_fwhms(leds))
    for item in filter(None, (args.fwhm or "").split(",")):
        nm_text, _, width_text = item.partition(":")
        try:
            nm, width = int(nm_text), float(width_text)
        except ValueError:
            nm, width = -1, 0.0
        if nm not in leds or not width > 0:
            raise UserError(f"--fwhm: expected NM:FWHM with NM one of the LEDs judged "
                            f"({', '.join(map(str, leds))}) and FWHM > 0, got {item!r}.")
        widths[nm] = width
    return tuple(widths.items())


def _print_floor(args, result, judged: _Judged, context: dict, seconds: float) -> None:
    from device.sim.floor import FloorResult

    images = []
    for name, a, b in judged.groups:
        part = FloorResult(result.leds, result.de00[a:b])
        images.append({"image": name, "pixels": b - a, **_summary(part)})
    if args.json:
        print(json.dumps({**_summary(result), **context, "pixels": len(result.de00),
                          "images": images, "seconds": round(seconds, 2)}))
        return
    print(f"per-pixel Bayes floor, LEDs {'/'.join(map(str, result.leds))} nm")
    for key in ("material", "prior", "noise", "judged", "inks", "fwhm"):
        print(f"  {key + ':':<10}{context[key]}")
    for row in images:
        print(f"  {row['mean_de00']:6.2f} mean, {row['p90_de00']:6.2f} p90  {row['image']}")
    print(f"mean ΔE00 {result.mean_de00:.2f}   p90 ΔE00 {result.p90_de00:.2f}   "
          f"({seconds:.1f} s)")


def _parts_legend() -> str:
    return "  parts:  " + "; ".join(f"{p.centre_nm} {p.describe()}" for p in PURCHASABLE_LEDS)


def _print_ranking(args, ranking, context: dict, seconds: float) -> None:
    rows = [_summary(r) for r in ranking]
    if args.json:
        print(json.dumps(rows))   # a list, as before --material: the context is in the text form
        return
    paper = set(NIR_LEDS)
    pool = "purchasable parts" if args.parts else "palette"
    print(f"every {args.choose}-LED subset of the {pool}, by per-pixel Bayes floor "
          f"(mean ΔE00, lower is better)")
    for key in ("material", "prior", "noise", "judged", "inks", "fwhm"):
        print(f"  {key + ':':<10}{context[key]}")
    if args.parts:
        print(_parts_legend())
    first_paper = next((i for i, r in enumerate(ranking) if paper <= set(r.leds)), None)
    shown = list(range(min(args.top, len(rows))))
    if first_paper is not None and first_paper not in shown:
        shown.append(first_paper)
    print(f"{'rank':>4}  {'LEDs (nm)':<20}{'mean':>7}{'p90':>8}")
    for i in shown:
        if i > shown[0] + 1 and i - 1 not in shown:
            print(f"{'...':>4}")
        mark = "" if i != first_paper else (
            "  <- the paper's 718/777/807" if args.choose == len(paper)
            else "  <- best with the paper's 718/777/807")
        leds = "/".join(map(str, rows[i]["leds"]))
        print(f"{i + 1:>4}  {leds:<20}{rows[i]['mean_de00']:>7.2f}{rows[i]['p90_de00']:>8.2f}"
              f"{mark}")
    print(f"{len(rows)} subsets ranked in {seconds:.1f} s")
