"""Training at every light level (`train.light`, `train fit --light`) and the per-level table of
`train eval`."""
import csv

import cv2
import numpy as np
import pytest
import torch

from device.captures import CaptureSet
from device.captures.format import Exposure
from device.common.errors import UserError
from device.sim import NIR_LEDS, RigSpec
from device.sim.floor import camera_noise
from device.sim.light import Levels
from train.cli import main
from train.light import LightCropSampler, LightRecipe, ThinnedScenes

torch.set_num_threads(1)


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def blank_at_light_2(tmp_path_factory):
    """Blank paper, 64x64, captured at twice the nominal light (the training captures' level)."""
    from device.commands.capture import render_sim_capture_set

    root = tmp_path_factory.mktemp("blank")
    prints = root / "prints"
    prints.mkdir()
    for i in range(3):
        cv2.imwrite(str(prints / f"blank{i}.png"), np.full((64, 64, 3), 255, np.uint8))
    return CaptureSet.open(render_sim_capture_set(
        root / "set", prints=prints, size=64, leds=NIR_LEDS, light=Levels(2.0, 2.0),
        progress=False))


def _sampler(cs, light, gain=1.0, **kwargs):
    recipe = LightRecipe(Levels(light, light), Levels(gain, gain))
    return LightCropSampler(ThinnedScenes(cs, NIR_LEDS), cs.scenes, 32, 0, recipe, **kwargs)


@pytest.mark.parametrize("light", [1 / 8, 1.0])
def test_thinned_crops_read_white_with_the_noise_of_their_light(blank_at_light_2, light):
    """Paper white is 1 (+1 in network units) at any light, and its spread is the closed form:
    shot + read noise at that light, and the 8-frame white reference's own noise at light 1
    (σ² = σ(L)² + σ(1)² / 8), doubled by the [-1, 1] mapping."""
    batch = _sampler(blank_at_light_2, light, noise_input=True).sample(0, 8)
    planes = batch.nir[:, :, 4:-4, 4:-4].permute(1, 0, 2, 3).reshape(3, -1).numpy()
    rig = RigSpec(leds=NIR_LEDS)
    at_light = camera_noise(rig.under(Exposure(10.0, light=light)), NIR_LEDS)
    sigma = np.sqrt(at_light.white_sigma(NIR_LEDS) ** 2
                    + camera_noise(rig, NIR_LEDS).white_sigma(NIR_LEDS) ** 2 / 8)
    # 8 x 24 x 24 = 4608 pixels a plane: the std is good to 1/sqrt(2N) = 1 %, the mean to σ/68.
    np.testing.assert_allclose(planes.std(axis=1), 2 * sigma, rtol=0.06)
    assert np.all(np.abs(planes.mean(axis=1) - 1.0) < 2 * (5 * sigma / 68 + 0.002))
    # the noise level given to a model is σ(L) at white, without the reference's part
    np.testing.assert_allclose(batch.noise[0].numpy(), at_light.white_sigma(NIR_LEDS), rtol=1e-5)


def test_batches_are_reproducible_and_twins_are_fresh_draws(blank_at_light_2):
    sampler = _sampler(blank_at_light_2, 0.25, twins=True)
    a, again, other = sampler.sample(3, 4), sampler.sample(3, 4), sampler.sample(4, 4)
    assert torch.equal(a.nir, again.nir) and torch.equal(a.twin, again.twin)
    assert not torch.equal(a.nir, other.nir)
    # same light, independent noise: the difference has twice one draw's variance
    assert not torch.equal(a.nir, a.twin)
    ratio = (a.nir - a.twin).var() / (2 * a.nir.var())
    assert 0.8 < float(ratio) < 1.2
    assert a.noise is None                        # the model takes none unless asked


def test_a_high_gain_clips_bright_paper(blank_at_light_2):
    """White at 718 nm, light 2, gain 2: 6228 e- x 2 is past the 10 500 e- of the top code
    in the frame's centre (the corners, vignetted to 0.8, stay below). The top code, 4031 above
    dark, against white's 4 x 1214.5 (light 2 x gain 2 x the nominal white's 3114 e- / 2.564
    e-/ADU) reads 0.83: +0.66 in network units, where unclipped paper reads +1."""
    def centre(gain):
        sampler = LightCropSampler(ThinnedScenes(blank_at_light_2, NIR_LEDS),
                                   blank_at_light_2.scenes, 64, 0,
                                   LightRecipe(Levels(2.0, 2.0), Levels(gain, gain)))
        return float(sampler.sample(0, 2).nir[:, 0, 24:40, 24:40].mean())

    # (spread about the mean: the white reference's 1 % pixel gain spread and its noise)
    assert abs(centre(2.0) - 0.66) < 0.02 and abs(centre(1.0) - 1.0) < 0.02


def test_thinning_refuses_more_light_than_captured(blank_at_light_2):
    with pytest.raises(UserError, match="captured at least that bright"):
        _sampler(blank_at_light_2, 4.0)


@pytest.mark.parametrize("options, words", [
    (["--noise-input"], "--noise-input needs --light"),
    (["--light", "1/4-1", "--stability", "1", "--teacher", "t.pt"], "give one"),
    (["--light", "1/4-1", "--init", "missing.pt"], "missing.pt: no such checkpoint"),
    (["--freeze", "decoder,tail"], "--freeze: the model has no parameters named tail*"),
])
def test_fit_light_options_are_refused_when_wrong(tiny_capture_set, tmp_path, capsys, options,
                                                  words):
    assert main(["fit", "--data", str(tiny_capture_set), "--model", "edge", *options,
                 "--crop", "32", "--out", str(tmp_path / "x")]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_fit_at_every_light_with_noise_input_and_stability_then_eval_per_level(
        tiny_capture_set, tmp_path):
    """A tiny edge fitted on crops thinned to 1/4-1 of the set's light, fine-tuned from a plain
    tiny edge; then scored on a set with two light levels: one table row per model and level."""
    from device.commands.capture import render_sim_capture_set

    data = str(tiny_capture_set)
    tiny = ["--base", "8", "--crop", "32", "--batch", "2", "--iters", "4", "--val-every", "2"]
    assert main(["fit", "--data", data, "--model", "edge", *tiny, "--out",
                 str(tmp_path / "plain")]) == 0
    assert main(["fit", "--data", data, "--model", "edge", *tiny, "--light", "1/4-1", "--gain",
                 "1-2", "--noise-input", "--stability", "0.5", "--init",
                 str(tmp_path / "plain" / "best.pt"), "--out", str(tmp_path / "lit")]) == 0
    log = rows(tmp_path / "lit" / "log.csv")
    assert all(float(r["loss_stability"]) > 0 for r in log)
    ckpt = torch.load(tmp_path / "lit" / "best.pt", weights_only=True)
    assert '"noise_input": 1' in ckpt["config"] and '"light": [0.25, 1.0]' in ckpt["config"]

    assert main(["fit", "--data", data, "--model", "edge", *tiny, "--light", "1/4-1",
                 "--teacher", str(tmp_path / "plain" / "best.pt"), "--init",
                 str(tmp_path / "plain" / "best.pt"), "--out", str(tmp_path / "taught")]) == 0
    assert all(float(r["loss_teacher"]) > 0 for r in rows(tmp_path / "taught" / "log.csv"))
    # --freeze keeps those layers bit for bit, BatchNorm statistics included; the rest learns
    assert main(["fit", "--data", data, "--model", "edge", *tiny, "--light", "1/4-1",
                 "--freeze", "encoder.4,decoder,head", "--init",
                 str(tmp_path / "plain" / "best.pt"), "--out", str(tmp_path / "frozen")]) == 0
    before = torch.load(tmp_path / "plain" / "best.pt", weights_only=True)["state_dict"]
    after = torch.load(tmp_path / "frozen" / "last.pt", weights_only=True)["state_dict"]
    for name in before:
        kept = name.startswith(("encoder.4", "decoder", "head"))
        assert torch.equal(before[name], after[name]) == kept, name

    levels = render_sim_capture_set(tmp_path / "levels", count=2, size=32, held_out=True,
                                    leds=NIR_LEDS, light=Levels(0.0625, 1.0, (0.0625, 1.0)),
                                    progress=False)
    report = tmp_path / "report"
    assert main(["eval", "--data", str(levels), "--ckpt", str(tmp_path / "plain" / "best.pt"),
                 str(tmp_path / "lit" / "best.pt"), "--out", str(report), "--floor-pixels",
                 "256"]) == 0
    per_image, per_level = rows(report / "per_image.csv"), rows(report / "per_level.csv")
    assert [(r["checkpoint"], float(r["light"])) for r in per_level] == [
        ("plain/best", 0.0625), ("plain/best", 1.0), ("lit/best", 0.0625), ("lit/best", 1.0)]
    for level in per_level:
        mine = [r for r in per_image if r["checkpoint"] == level["checkpoint"]
                and float(r["light"]) == float(level["light"])]
        assert int(level["images"]) == len(mine) == 2
        assert float(level["exposure_ms"]) == pytest.approx(10 * float(level["light"]))
        for column in ("delta_e00", "floor_delta_e00"):
            assert float(level[column]) == pytest.approx(np.mean([float(r[column]) for r in mine]))
        assert float(level["worst_over_floor"]) == pytest.approx(
            max(float(r["delta_e00_over_floor"]) for r in mine))
    assert "## Per light level" in (report / "report.md").read_text()


def test_a_noise_level_input_starts_as_the_model_without_it():
    """`noise_input`: zero-initialised, so loading a plain edge's weights gives the same output
    at any noise level; it then needs the level, and a plain model refuses one."""
    from train.models import build_model, model_config

    plain = build_model({"name": "edge", "base": 8}).eval()
    noisy = build_model({"name": "edge", "base": 8, "noise_input": 1}).eval()
    missing, unexpected = noisy.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("noise_bias.") for k in missing)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        for sigma in (0.01, 0.1):
            assert torch.equal(noisy(x, torch.full((2, 3), sigma)), plain(x))
    with pytest.raises(ValueError, match="takes a noise level"):
        noisy(x)
    with pytest.raises(ValueError, match="takes no noise level"):
        plain(x, torch.full((2, 3), 0.02))
    assert "noise_input" not in model_config({"name": "edge"})   # cards stay as they were
    with pytest.raises(UserError, match="0 or 1"):
        model_config({"name": "edge", "noise_input": 2})
