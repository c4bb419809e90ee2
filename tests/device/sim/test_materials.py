"""Material families (`device.sim.materials`) against their check data
(`device.sim.materials.checks`: NIST's forearms and TCS13 for skin, TCS14 for leaves, the CIE
2017 samples for cloth, all read from their sources, none hard-coded from a run of the models),
the models' physics, and `MaterialScene`."""
import numpy as np
import pytest

from device.sim.materials import CLOTH, FAMILIES, INK, LEAF, SKIN, checks, daylight_lab
from device.sim.materials.leaf import stern_tav
from device.sim.materials.readings import surface_colours
from device.sim.materials.scene import MaterialScene, SurfaceLayout
from device.sim.rig_spec import RigSpec
from device.sim.spectra import WAVELENGTHS

NIR = (718, 777, 807)


def at(spectra, nm):
    return spectra[..., int(np.searchsorted(WAVELENGTHS, nm))]


@pytest.mark.parametrize("check", ["skin_nist", "skin_tcs13", "leaf_tcs14", "cloth_cie2017"])
def test_each_model_matches_its_check_data(check):
    """`device.sim.materials.checks`: NIST's forearms at 780 nm, TCS13, TCS14 at 720/775/810
    nm, the CIE 2017 samples' median at 780 nm, each within its tolerance (see there)."""
    results = getattr(checks, check)()
    assert results and all(c.passed for c in results), [c for c in results if not c.passed]


def test_the_skin_prior_reaches_beyond_nists_cohort():
    """Darker skins than NIST measured are in the prior (Monk 7-8): they read below 0.43."""
    spectra = SKIN.reflectance(SKIN.sample(np.random.default_rng(1), 3000))
    assert at(spectra, 780).min() < 0.35


def test_leaves_rise_across_the_three_leds_and_are_bright_in_the_nir():
    spectra = LEAF.reflectance(LEAF.sample(np.random.default_rng(2), 500))
    green = at(spectra, 550) > at(spectra, 650)
    assert np.mean(at(spectra, 720)[green] < at(spectra, 775)[green]) > 0.95
    assert np.median(at(spectra, 810)) > 3 * np.median(at(spectra, 550))


def test_carbon_black_stays_dark_where_organic_dyes_clear():
    black = np.zeros(len(CLOTH.parameters))
    black[0], black[CLOTH.parameters.index("carbon_black")] = 0.8, 2.0
    organic = np.zeros(len(CLOTH.parameters))
    organic[0] = 0.8
    organic[[CLOTH.parameters.index(d) for d in ("red", "navy", "yellow")]] = 2.0
    spectra = CLOTH.reflectance(np.stack([black, organic]))
    assert at(spectra, 550).max() < 0.02                          # both look black
    assert at(spectra, 807)[0] < 0.05 < 0.7 < at(spectra, 807)[1]   # only one is black in NIR


def test_stern_matches_fresnel_integrated_over_the_hemisphere():
    """tav(90°, n) is the Fresnel transmittance of unpolarised light averaged over a
    Lambertian hemisphere, computed here by direct quadrature."""
    theta = np.linspace(0, np.pi / 2, 20001)[1:-1]
    n = 1.45
    t = np.arcsin(np.sin(theta) / n)
    rs = (np.sin(theta - t) / np.sin(theta + t)) ** 2
    rp = (np.tan(theta - t) / np.tan(theta + t)) ** 2
    mean_t = np.trapezoid(0.5 * (2 - rs - rp) * np.sin(2 * theta), theta)
    assert stern_tav(90.0, np.array([n]))[0] == pytest.approx(mean_t, abs=1e-4)


def test_a_clear_leaf_absorbs_nothing():
    from device.sim.materials.leaf import prospect

    r, t = prospect(np.array([1.5, 2.5]), np.zeros((2, 6)))
    np.testing.assert_allclose(r + t, 1.0, atol=1e-9)
    r, t = prospect(np.array([1.5]), np.array([[40, 10, 1, 0, 0.01, 0.005]]))
    assert np.all(r + t < 1.0) and np.all(r > 0) and np.all(t > 0)


def test_the_ink_family_is_the_printers_print():
    from device.sim.printing import PrintedSpectra, SpectralProjection

    rgb = np.random.default_rng(4).random((20, 3)).astype(np.float32)
    nodes = np.array([450.0, 718.0, 807.0])
    printed = PrintedSpectra.from_rgb(rgb[:, None, :]).project(
        SpectralProjection(nodes, np.eye(3)))[:, 0, :]
    np.testing.assert_allclose(INK.reflectance(rgb)[:, (nodes - 380).astype(int)], printed,
                               atol=1e-5)


@pytest.mark.parametrize("name", ["skin", "leaf", "cloth"])
def test_a_colour_of_the_family_is_matched_to_itself(name):
    """A surface of the prior, asked for by its own daylight colour, comes back as a surface of
    (almost) that colour."""
    from device.sim.colorimetry import delta_e00_lab
    from device.sim.materials.family import MATCH_TABLE

    family = FAMILIES[name]
    params = family.sample(np.random.default_rng(5), 40)
    lab = daylight_lab(family.reflectance(params))
    import colour

    rgb = np.clip(colour.XYZ_to_sRGB(colour.Lab_to_XYZ(lab)), 0, 1)
    matched = daylight_lab(family.reflectance(family.match(rgb)))
    assert MATCH_TABLE >= 4096 and np.median(delta_e00_lab(lab, matched)) < 3.0


def uniform_layout(family, params, size=24, print_rgb=0.5):
    index = np.zeros((size, size), np.int32)
    index[:, : size // 4] = -1      # a printed strip on the left
    return SurfaceLayout(((family.name, params[None]),), index,
                         np.ones((size, size), np.float32),
                         np.full((size, size, 3), print_rgb, np.float32))


@pytest.mark.parametrize("name", ["skin", "leaf", "cloth"])
def test_a_scene_reads_what_the_floor_reads(name):
    """One surface filling a scene: its noiseless capture, normalised to the paper white, is the
    reading the floor uses (`surface_colours`), and its truth is the floor's daylight colour."""
    from device.captures.references import normalise
    from device.sim.colorimetry import srgb_to_lab

    family = FAMILIES[name]
    params = family.sample(np.random.default_rng(6), 1)[0]
    rig = RigSpec(leds=NIR, noise=False, blur=0.0, vignetting=0.0, prnu=0.0)
    scene = MaterialScene(uniform_layout(family, params), rig=rig)
    rng = np.random.default_rng(0)
    dark = scene.dark(rng)
    readings = [normalise(scene.capture(nm, rng), dark, scene.white(nm, rng))[12, 12]
                for nm in NIR]
    expected = surface_colours(family, params[None], NIR, rig)
    np.testing.assert_allclose(readings, expected.readings[0], atol=2e-3)   # 12-bit rounding
    lab = srgb_to_lab(scene.ground_truth()[12, 12])
    # the scene integrates on 10 nm quadrature nodes (`SpectralProjection`), the floor on 1 nm
    np.testing.assert_allclose(lab, expected.lab[0], atol=0.5)
    assert (scene.family_map()[:, :6] == 0).all() and (scene.family_map()[:, 6:] > 0).all()


def test_the_printed_part_of_a_scene_is_the_print():
    from device.sim.scene import PrintedScene

    rig = RigSpec(leds=NIR, noise=False)
    layout = uniform_layout(SKIN, SKIN.sample(np.random.default_rng(7), 1)[0], print_rgb=0.3)
    printed = PrintedScene(np.full((24, 24, 3), 0.3, np.float32), rig=rig)
    scene = MaterialScene(layout, rig=rig)
    np.testing.assert_allclose(scene.signal(718)[:, :3], printed.signal(718)[:, :3], rtol=1e-5)


def test_shade_dims_a_surface_in_proportion():
    params = CLOTH.sample(np.random.default_rng(8), 1)[0]
    layout = uniform_layout(CLOTH, params)
    shade = layout.shade.copy()
    shade[:, 12:] = 0.5
    dim = SurfaceLayout(layout.surfaces, layout.index, shade, layout.print_rgb)
    rig = RigSpec(leds=NIR, noise=False, blur=0.0, vignetting=0.0, prnu=0.0)
    bright, dark = (MaterialScene(x, rig=rig).signal(777) - rig.dark_offset
                    for x in (layout, dim))
    np.testing.assert_allclose(dark[:, 12:], 0.5 * bright[:, 12:], rtol=1e-4)


def test_a_layout_that_points_outside_its_table_is_refused():
    index = np.full((4, 4), 3, np.int32)
    with pytest.raises(ValueError, match="surface index outside"):
        SurfaceLayout((("skin", SKIN.sample(np.random.default_rng(0), 2)),), index,
                      np.ones((4, 4), np.float32), np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="unknown surface families"):
        SurfaceLayout((("ink", np.zeros((1, 3))),), np.zeros((4, 4), np.int32),
                      np.ones((4, 4), np.float32), np.zeros((4, 4, 3), np.float32))
