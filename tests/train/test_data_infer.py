import numpy as np
import pytest
import torch

from device.captures import CaptureSet
from device.common.errors import UserError
from train.data import CropSampler, Scenes, check_inputs, parse_inputs
from train.infer import predict
from train.models import build_model

torch.set_num_threads(1)


def test_crops_are_scaled_seeded_and_shared_out_between_processes(tiny_capture_set):
    cs = CaptureSet.open(tiny_capture_set)
    scenes = Scenes(cs, (718, 807))
    sampler = CropSampler(scenes, cs.split["train"], crop=32, seed=5)
    nir, rgb = sampler.batch(iteration=3, batch=4)
    assert nir.shape == (4, 2, 32, 32) and rgb.shape == (4, 3, 32, 32)
    assert rgb.min() >= -1 and rgb.max() <= 1
    # Paper white is reflectance 1.0 -> +1; printed inks are darker, never far below 0.
    assert -1.2 < nir.mean() < 1.0
    again, _ = sampler.batch(iteration=3, batch=4)
    other, _ = sampler.batch(iteration=4, batch=4)
    assert torch.equal(nir, again) and not torch.equal(nir, other)
    half0, _ = sampler.batch(iteration=3, batch=4, rank=0, world=2)
    half1, _ = sampler.batch(iteration=3, batch=4, rank=1, world=2)
    assert torch.equal(half0, nir[0::2]) and torch.equal(half1, nir[1::2])


def test_scene_values_follow_the_capture_set(tiny_capture_set):
    cs = CaptureSet.open(tiny_capture_set)
    scene = cs.split["val"][0]
    nir, rgb = Scenes(cs, (777,)).load(scene)
    assert np.allclose(nir[0], cs.load_nir(scene, (777,))[..., 0] * 2 - 1)
    assert np.allclose(rgb.transpose(1, 2, 0), cs.load_truth(scene) * 2 - 1)


def test_inputs_are_parsed_and_checked(tiny_capture_set):
    cs = CaptureSet.open(tiny_capture_set)
    assert parse_inputs("718,777") == (718, 777)
    with pytest.raises(UserError, match="comma-separated"):
        parse_inputs("718;777")
    with pytest.raises(UserError, match="twice"):
        parse_inputs("718,718")
    with pytest.raises(UserError, match="850 nm is not in capture set"):
        check_inputs(cs, (718, 850))
    with pytest.raises(UserError, match="larger than the images"):
        CropSampler(Scenes(cs, (718,)), cs.split["train"], crop=128, seed=0)


def test_tiled_prediction_equals_whole_image_prediction_for_a_patch_model():
    torch.manual_seed(0)
    model = build_model({"name": "linear", "in_channels": 3, "patch": 4})
    x = torch.rand(1, 3, 100, 90) * 2 - 1   # not a multiple of the patch: padded and cropped
    whole = predict(model, x, multiple=4, tile=512)
    tiled = predict(model, x, multiple=4, tile=40, margin=8)
    assert whole.shape == (1, 3, 100, 90)
    assert torch.allclose(whole, tiled, atol=1e-6)


def test_tiled_unet_prediction_has_the_input_size_and_stays_close_to_whole():
    torch.manual_seed(0)
    model = build_model({"name": "edge", "base": 8}).eval()
    x = torch.rand(1, 3, 70, 50) * 2 - 1
    whole = predict(model, x, multiple=16, tile=512)
    tiled = predict(model, x, multiple=16, tile=48, margin=16)
    assert whole.shape == tiled.shape == (1, 3, 70, 50)
    assert (whole - tiled).abs().mean() < 0.05 * whole.abs().mean()
