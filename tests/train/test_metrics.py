import math

import numpy as np
import pytest
import torch

from device.common.errors import UserError
from train.fid import FidUnavailable, fid, frechet_distance
from train.inception import FidInception, fid_features
from train.metrics import angular_error, delta_e00, mse, psnr, sharpness, ssim

torch.set_num_threads(1)


def _flat(value, h=16, w=16):
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (h, w, 3)).copy()


def test_mse_and_psnr_of_a_known_error():
    a, b = _flat(0.0), _flat(0.1)
    assert mse(a, b) == pytest.approx(0.01)
    assert psnr(a, b) == pytest.approx(20.0)          # 10 log10(1 / 0.01)
    assert psnr(a, a) == math.inf


def test_ssim_of_flat_images_is_the_luminance_term():
    # Flat images have zero variance: SSIM = (2 m1 m2 + C1) / (m1² + m2² + C1), C1 = (0.01 L)².
    c1 = 0.01 ** 2
    assert ssim(_flat(0.2), _flat(0.6)) == pytest.approx((2 * 0.2 * 0.6 + c1) / (0.04 + 0.36 + c1))
    rng = np.random.default_rng(0)
    noisy = rng.uniform(0, 1, (32, 32, 3))
    assert ssim(noisy, noisy) == pytest.approx(1.0)


def test_angular_error_of_known_vectors():
    assert angular_error(_flat([1, 0, 0]), _flat([1, 1, 0])) == pytest.approx(45.0)
    assert angular_error(_flat([0, 0, 1]), _flat([0.5, 0, 0])) == pytest.approx(90.0)
    assert angular_error(_flat([0.2, 0.4, 0.6]), _flat([0.1, 0.2, 0.3])) == pytest.approx(0.0, abs=1e-6)
    half = _flat([0, 1, 0])
    half[:8] = 0.0   # black pixels have no direction: left out, not counted as 0 or 90 degrees
    assert angular_error(half, _flat([0, 1, 1])) == pytest.approx(45.0)


# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula", Table 1: Lab pairs, ΔE00.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize("lab1, lab2, expected", SHARMA)
def test_delta_e00_reproduces_sharma_2005(lab1, lab2, expected):
    import colour

    # The metric takes sRGB: carry each Lab colour there by the exact inverse of sRGB -> XYZ
    # (colour's XYZ_to_sRGB matrix is a rounded inverse; no clipping, D65 throughout).
    rgb_to_xyz = colour.RGB_COLOURSPACES["sRGB"].matrix_RGB_to_XYZ

    def to_srgb(lab):
        linear = np.linalg.solve(rgb_to_xyz, colour.Lab_to_XYZ(np.array(lab)))
        return colour.cctf_encoding(linear, function="sRGB")

    a = np.broadcast_to(to_srgb(lab1), (2, 2, 3))
    b = np.broadcast_to(to_srgb(lab2), (2, 2, 3))
    assert delta_e00(a, b) == pytest.approx(expected, abs=1e-4)


def test_metrics_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="HxWx3"):
        mse(_flat(0.0), np.zeros((16, 16)))


def test_frechet_distance_in_one_dimension():
    # N(m1, s1²) vs N(m2, s2²): (m1 - m2)² + (s1 - s2)².
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]),
                            np.array([[9.0]])) == pytest.approx(4.0 + 1.0)


def test_frechet_distance_of_commuting_covariances():
    # S1 = Q D1 Qᵀ, S2 = Q D2 Qᵀ commute: Tr(S1 + S2 - 2 (S1 S2)^½) = Σ (√d1 - √d2)².
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    d1, d2 = rng.uniform(0.5, 3, 5), rng.uniform(0.5, 3, 5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2)
    got = frechet_distance(mu1, q @ np.diag(d1) @ q.T, mu2, q @ np.diag(d2) @ q.T)
    assert got == pytest.approx(expected, rel=1e-8)


def test_fid_is_unavailable_without_weights_and_refuses_a_wrong_file(tmp_path):
    images = [np.zeros((8, 8, 3))] * 2
    with pytest.raises(FidUnavailable, match="no --fid-weights"):
        fid(images, images, None)
    with pytest.raises(UserError, match="no such file"):
        fid(images, images, tmp_path / "absent.pth")
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(UserError, match="not the FID Inception-v3 weights"):
        fid(images, images, tmp_path / "other.pth")


@pytest.mark.slow
def test_fid_inception_loads_a_weights_file_by_its_standard_names(tmp_path):
    torch.manual_seed(0)
    names = FidInception().state_dict()
    # The standard file's names (pytorch-fid's FID Inception, ported from the TF graph).
    assert {"Conv2d_1a_3x3.conv.weight", "Mixed_5b.branch_pool.bn.running_var",
            "Mixed_7c.branch3x3dbl_3b.conv.weight", "fc.weight"} <= set(names)
    assert names["fc.weight"].shape == (1008, 2048)
    torch.save(names, tmp_path / "fid.pth")
    rng = np.random.default_rng(0)
    feats = fid_features([rng.uniform(0, 1, (40, 40, 3)), np.zeros((64, 48, 3))],
                         tmp_path / "fid.pth")
    assert feats.shape == (2, 2048) and np.isfinite(feats).all()


def test_sharpness_is_one_for_the_truth_and_below_one_when_blurred():
    import cv2

    truth = np.random.default_rng(0).random((48, 48, 3))
    assert sharpness(truth, truth) == pytest.approx(1.0)
    blurred = cv2.GaussianBlur(truth, (0, 0), 1.0)
    assert sharpness(truth, blurred) < 0.5
    noisy = np.clip(truth + np.random.default_rng(1).normal(0, 0.2, truth.shape), 0, 1)
    assert sharpness(truth, noisy) > 1.0
    assert np.isnan(sharpness(np.full((8, 8, 3), 0.5), truth[:8, :8]))
