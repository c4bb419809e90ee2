"""Steps 3 and 4: each LED lights its own frame, the right one; every row of a sub-frame is
lit by its LED alone."""
from __future__ import annotations

from typing import Mapping

from device.procedures.selftest import judge
from device.procedures.selftest.evidence import Evidence, led_wire, swap_fix
from device.procedures.selftest.reference import paper_reference
from device.procedures.selftest.report import Finding
from device.procedures.selftest.session import RigSession
from device.procedures.selftest.sim_truth import simulated_rows

ALONE_FRAMES = 3        # per LED, averaged: the noise of the rise falls by sqrt(3)
MIN_COMMON = 0.01       # pixels unclipped under every LED, at least this share to compare them
STEADY_FRAMES = 2       # per LED, lit throughout: the rows' reference
CYCLES = 2              # of the viewer's strobe, for the rows


def check_leds(ev: Evidence) -> Finding:
    """3: each LED, lit alone, raises its frame above dark by a clear margin; and the frames'
    relative brightness is the LEDs' in the configured order (swapped pins are named)."""
    assert ev.dark is not None and ev.dark_mean is not None
    session = _session(ev)
    for nm in ev.wavelengths:
        ev.alone[nm] = session.one_phase(nm, ALONE_FRAMES)
    means = {nm: judge.mean_frame([s.image for s in subs]) for nm, subs in ev.alone.items()}
    ev.rises = {nm: judge.rise_above_dark(m, ev.dark_mean) for nm, m in means.items()}
    common = judge.unclipped([s.image for subs in ev.alone.values() for s in subs],
                             ev.saturation)
    comparable = float(common.mean()) >= MIN_COMMON
    lit = [nm for nm in ev.wavelengths if ev.lit(nm)]
    rises = {nm: judge.rise_above_dark(means[nm], ev.dark_mean, common) for nm in lit}
    expected, source = paper_reference(ev)
    threshold = ev.dark.lit_threshold
    measured = {"rise": _per_led(ev.rises), "lit_min": threshold, "reference": source,
                "expected_ratio": _per_led(_ratio(expected, ev.wavelengths)),
                "measured_ratio": _per_led(_ratio(rises, lit)),
                "indistinct": [f"{a}/{b} nm" for a, b in judge.indistinct(expected)]}
    dead = [nm for nm in ev.wavelengths if nm not in lit]
    order = None
    if comparable and len(lit) >= 2 and all(rises[nm] > 0 for nm in lit):
        order = judge.led_order(rises, {nm: expected[nm] for nm in lit})
        measured |= {"order_misfit": order.misfit, "best_misfit": order.best_misfit,
                     "order_tolerance": judge.ORDER_TOLERANCE}
    return _verdict(ev, dead, order, comparable, measured, source)


def _verdict(ev: Evidence, dead: list[int], order: judge.Order | None, comparable: bool,
             measured: dict, source: str) -> Finding:
    c = ev.config
    problems: list[str] = []
    fixes: list[str] = []
    for nm in dead:
        problems.append(f"the frame lit for {nm} nm is no brighter than dark "
                        f"({ev.rises[nm]:+.1f} codes; a lit LED gives at least "
                        f"{measured['lit_min']:.1f})")
        fixes.append(f"the {nm} nm LED does not light: check its driver's supply and the enable "
                     f"wire from {led_wire(c, nm)}, the LED itself (a phone camera shows NIR as "
                     f"a glow) and its current")
    swapped = order.swapped if order is not None else {}
    if swapped:
        looks = [f"the frame lit for {nm} nm looks like the {other} nm LED's"
                 for nm, other in sorted(swapped.items())]
        problems.append(", and ".join(looks) + f" (by brightness on white paper, against "
                        f"{source}: measured {_ratio_text(measured['measured_ratio'])}, "
                        f"expected {_ratio_text(measured['expected_ratio'])})")
        fixes.append(swap_fix(c, swapped))
    if problems:
        return Finding(False, "; ".join(problems), measured, "; ".join(fixes))
    codes = " / ".join(f"{ev.rises[nm]:.0f}" for nm in ev.wavelengths)
    said = (f"{' / '.join(map(str, ev.wavelengths))} nm raise their frames by {codes} codes "
            f"(at least {measured['lit_min']:.1f})")
    if order is None:
        why = "every frame clips (step 6)" if not comparable else "fewer than two LEDs lit"
        return Finding(True, f"{said}; order not checked: {why}", measured)
    return Finding(True, f"{said}, in the order {source} expects "
                         f"({_ratio_text(measured['measured_ratio'])})", measured)


def check_rows(ev: Evidence) -> Finding:
    """4: every row of every sub-frame of the viewer's strobe got its LED's light alone, as
    in a frame lit throughout by that LED (a rolling shutter's band or a neighbour's light
    shows as rows off the others); on the simulated rig its record of each row's light too."""
    assert ev.dark_mean is not None
    session = _session(ev)
    c = ev.config
    lit = [nm for nm in ev.wavelengths if ev.lit(nm)]
    steady = {nm: judge.mean_frame([f.image for f in session.steady(nm, STEADY_FRAMES)])
              for nm in lit}
    phases = len(ev.wavelengths) + (1 if c.strobe.dark_phase else 0)
    ev.cycle = session.cycle(CYCLES * phases)
    dimmest = min((ev.rises.get(nm, 0.0) for nm in lit), default=0.0)
    worst: dict[str, judge.Rows] = {}
    for sub in ev.cycle:
        if sub.nm is None:
            rows = judge.dark_rows(sub.image, ev.dark_mean, dimmest)
        elif sub.nm in steady:
            rows = judge.row_deviation(sub.image, steady[sub.nm], ev.dark_mean, ev.saturation)
        else:
            continue                      # a dead LED: step 3's finding
        key = "dark phase" if sub.nm is None else f"{sub.nm} nm"
        if key not in worst or rows.deviation > worst[key].deviation:
            worst[key] = rows
    return _rows_verdict(ev, worst, simulated_rows(session.camera, ev.cycle))


def _rows_verdict(ev: Evidence, worst: dict[str, judge.Rows],
                  sim: tuple[int, int, float] | None) -> Finding:
    measured: dict = {"row_tolerance": judge.ROW_TOLERANCE,
                      "row_deviation": {k: r.deviation for k, r in worst.items()},
                      "rows_off": {k: r.bad for k, r in worst.items()}}
    said_sim = ""
    if sim is not None:
        rows, mixed, spread = sim
        measured |= {"sim_rows": rows, "sim_mixed_rows": mixed, "sim_light_spread": spread}
        said_sim = (f"; the simulator's record: {mixed} of {rows} rows mixed, the light spread "
                    f"{spread:.1%} over the rows")
    bad = {k: r for k, r in worst.items() if r.bad}
    sim_bad = sim is not None and (sim[1] > 0 or sim[2] > judge.ROW_TOLERANCE)
    if not bad and not sim_bad:
        largest = max((w.deviation for w in worst.values()), default=0.0)
        return Finding(True, f"every row within {largest:.1%} of a frame lit throughout "
                             f"(at most {judge.ROW_TOLERANCE:.0%}){said_sim}", measured)
    key, off = max(worst.items(), key=lambda item: item[1].deviation)
    return Finding(False, f"{off.bad} of {off.judged} rows of the {key} sub-frames are off by "
                          f"up to {off.deviation:.0%} from a frame lit throughout (at most "
                          f"{judge.ROW_TOLERANCE:.0%}): their light starts or stops while rows "
                          f"still expose, as on a rolling shutter strobed as a global one"
                          f"{said_sim}", measured,
                   "give the camera's shutter to the config: camera.profile (docs/cameras.md, "
                   "Camera profiles), or camera.shutter = \"rolling\" and camera.line_time_us, "
                   "so that the strobe takes a rolling shutter's timing (flash-window or "
                   "sensor-strobe)")


def _per_led(values: Mapping[int, float]) -> dict[str, float]:
    return {f"{nm} nm": value for nm, value in values.items()}


def _ratio(values: Mapping[int, float], nms: list[int] | tuple[int, ...]) -> dict[int, float]:
    top = max((values[nm] for nm in nms), default=1.0) or 1.0
    return {nm: values[nm] / top for nm in nms}


def _ratio_text(ratio: Mapping[str, float]) -> str:
    return " : ".join(f"{v:.2f}" for v in ratio.values())


def _session(ev: Evidence) -> RigSession:
    assert ev.session is not None
    return ev.session
