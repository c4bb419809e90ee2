import numpy as np
import pytest
import torch
from torch import nn

from device.common.errors import UserError
from train.models import MODEL_NAMES, build_discriminator, build_model
from train.models.flops import flops_per_pixel
from train.models.fold import fold_batchnorm
from train.models.linear import PatchRegression

torch.set_num_threads(1)

TINY = {"linear": {"patch": 4}, "unet": {"base": 8}, "unet-gan": {"base": 8}, "edge": {"base": 8}}


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("in_channels", [1, 3])
def test_shape_and_range(name, in_channels):
    model = build_model({"name": name, "in_channels": in_channels, **TINY[name]})
    x = torch.rand(2, in_channels, 32, 48) * 2 - 1
    y = model(x * 50)   # far outside the input range: the output must still be in [-1, 1]
    assert y.shape == (2, 3, 32, 48)
    assert y.abs().max() <= 1.0
    assert 32 % model.spatial_multiple == 0 and model.config["name"] == name


def test_vgg16_encoder_has_thirteen_convs_with_vgg_widths():
    unet = build_model({"name": "unet"})
    convs = [m for m in unet.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 256,
                                                512, 512, 512, 512, 512, 512]
    assert unet.spatial_multiple == 16


def test_edge_is_tensorrt_friendly_and_within_a_twentieth_of_unet_flops():
    edge = build_model({"name": "edge"})
    allowed = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Upsample, nn.MaxPool2d,
               nn.Sequential, nn.ModuleList, type(edge))
    assert all(isinstance(m, allowed) for m in edge.modules())
    hidden = [m.out_channels for m in edge.modules() if isinstance(m, nn.Conv2d)][:-1]
    assert all(c % 8 == 0 for c in hidden)
    unet = build_model({"name": "unet"})
    assert flops_per_pixel(edge, 3, 64) * 20 <= flops_per_pixel(unet, 3, 64)


def test_flop_count_of_linear_matches_its_conv_arithmetic():
    # Conv(C -> 3p², kernel p, stride p): per patch 3p² * C p² multiply-adds over p² pixels.
    model = build_model({"name": "linear", "in_channels": 3, "patch": 6})
    assert flops_per_pixel(model, 3, 48) == pytest.approx(2 * 3 * 36 * 3 * 36 / 36)


def test_patchgan_receptive_field_is_70_pixels():
    disc = build_discriminator({"name": "unet-gan", "in_channels": 3, "disc_base": 8}).eval()
    nir = torch.zeros(1, 3, 160, 160, requires_grad=True)
    rgb = torch.zeros(1, 3, 160, 160)
    with torch.no_grad():
        for p in disc.parameters():
            p.copy_(torch.rand_like(p) * 0.1 + 0.01)   # positive: no gradient cancels out
    out = disc(nir, rgb)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows, cols = np.nonzero(nir.grad[0].abs().sum(0).numpy())
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def test_closed_form_fit_recovers_a_known_patch_map():
    torch.manual_seed(0)
    truth = build_model({"name": "linear", "in_channels": 2, "patch": 3})
    with torch.no_grad():
        truth.conv.weight.mul_(0.2)
    model = build_model({"name": "linear", "in_channels": 2, "patch": 3})
    fit = PatchRegression(model, stride=3)
    for _ in range(4):   # streamed in batches
        nir = torch.rand(2, 2, 24, 24) * 2 - 1
        fit.add(nir, truth(nir))   # |truth| < 1 here, so the clamp is inactive
    fit.solve(ridge=1e-9)
    assert torch.allclose(model.conv.weight, truth.conv.weight, atol=1e-4)
    assert torch.allclose(model.conv.bias, truth.conv.bias, atol=1e-4)


def test_one_solve_equals_the_papers_separate_per_channel_regressions():
    rng = np.random.default_rng(1)
    nir = rng.uniform(-1, 1, (1, 3, 12, 12)).astype(np.float32)
    rgb = rng.uniform(-1, 1, (1, 3, 12, 12)).astype(np.float32)
    model = build_model({"name": "linear", "in_channels": 3, "patch": 2})
    fit = PatchRegression(model, stride=1)
    fit.add(torch.from_numpy(nir), torch.from_numpy(rgb))
    fit.solve(ridge=0.0)
    # Independent: build the patch matrix by hand and solve for the green channel alone.
    rows, targets = [], []
    for i in range(11):
        for j in range(11):
            rows.append(np.append(nir[0, :, i:i + 2, j:j + 2].ravel(), 1.0))
            targets.append(rgb[0, 1, i:i + 2, j:j + 2].ravel())
    coef, *_ = np.linalg.lstsq(np.array(rows, np.float64), np.array(targets, np.float64), rcond=None)
    green = model.conv.weight.detach().numpy().reshape(3, 4, -1)[1]   # (pixel, input)
    assert np.allclose(green, coef[:-1].T, atol=1e-4)
    assert np.allclose(model.conv.bias.detach().numpy().reshape(3, 4)[1], coef[-1], atol=1e-4)


def test_fold_batchnorm_keeps_outputs_and_removes_bn():
    torch.manual_seed(0)
    edge = build_model({"name": "edge", "base": 8})
    edge.train()
    with torch.no_grad():
        for _ in range(3):   # non-trivial running statistics
            edge(torch.randn(2, 3, 32, 32))
    edge.eval()
    folded = fold_batchnorm(edge)
    x = torch.randn(1, 3, 32, 32)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert torch.allclose(folded(x), edge(x), atol=1e-5)


@pytest.mark.parametrize("config, words", [
    ({"name": "resnet"}, "unknown model 'resnet'"),
    ({"name": "unet", "depth": 3}, "no option 'depth'"),
    ({"name": "edge", "base": 12}, "multiple of 8"),
    ({"name": "unet", "base": 0}, "positive integer"),
])
def test_bad_model_configs_are_user_errors(config, words):
    with pytest.raises(UserError, match=words):
        build_model(config)


def test_a_model_without_a_discriminator_in_its_spec_refuses_to_build_one():
    with pytest.raises(UserError, match="'unet' has no discriminator"):
        build_discriminator({"name": "unet"})
