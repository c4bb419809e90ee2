"""Displays write real files: framebuffer bytes exact for known geometries, an mp4 that OpenCV
reads back, a PNG folder."""
import cv2
import numpy as np
import pytest

from device.common.errors import UserError
from device.viewer.displays import FramebufferDisplay, letterbox
from device.viewer.rig import open_display
from device.simulated.presets import sim_config


def fake_fb(tmp_path, width, height, bpp, stride):
    sysfs = tmp_path / "sys"
    (sysfs / "fb1").mkdir(parents=True)
    (sysfs / "fb1" / "virtual_size").write_text(f"{width},{height}\n")
    (sysfs / "fb1" / "bits_per_pixel").write_text(f"{bpp}\n")
    (sysfs / "fb1" / "stride").write_text(f"{stride}\n")
    device = tmp_path / "fb1"
    device.write_bytes(b"\xAA" * (stride * height))
    return device, sysfs


# A 2x2 frame: red, green / blue, white.
FRAME = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]], np.uint8)


def test_rgb565_bytes_with_stride_padding(tmp_path):
    device, sysfs = fake_fb(tmp_path, 2, 2, 16, stride=6)   # 4 bytes of pixels + 2 of padding
    display = FramebufferDisplay(device, sysfs)
    display.render(FRAME)
    display.close()
    expected = bytes([0x00, 0xF8, 0xE0, 0x07, 0, 0,          # red F800, green 07E0 (LE)
                      0x1F, 0x00, 0xFF, 0xFF, 0, 0])         # blue 001F, white FFFF
    assert device.read_bytes() == expected


def test_bgra8888_bytes(tmp_path):
    device, sysfs = fake_fb(tmp_path, 2, 2, 32, stride=8)
    display = FramebufferDisplay(device, sysfs)
    display.render(FRAME)
    display.close()
    expected = bytes([0, 0, 255, 255, 0, 255, 0, 255,
                      255, 0, 0, 255, 255, 255, 255, 255])
    assert device.read_bytes() == expected


def test_framebuffer_letterboxes_to_its_geometry(tmp_path):
    device, sysfs = fake_fb(tmp_path, 8, 2, 32, stride=32)
    display = FramebufferDisplay(device, sysfs)
    display.render(np.full((2, 2, 3), 200, np.uint8))       # square frame on a wide screen
    display.close()
    pixels = np.frombuffer(device.read_bytes(), np.uint8).reshape(2, 8, 4)
    assert (pixels[:, :3, :3] == 0).all() and (pixels[:, 5:, :3] == 0).all()   # black bars
    assert (pixels[:, 3:5, :3] == 200).all()


def test_framebuffer_without_sysfs_is_one_sentence(tmp_path):
    with pytest.raises(UserError, match="cannot read framebuffer geometry"):
        FramebufferDisplay(tmp_path / "fb7", tmp_path)


def test_letterbox_keeps_aspect():
    out = letterbox(np.full((10, 20, 3), 255, np.uint8), 40, 40)
    rows = np.where(out[:, 20, 0] == 255)[0]
    assert out.shape == (40, 40, 3) and rows.min() == 10 and rows.max() == 29


def test_mp4_file_is_real_video_cv2_reads_back(tmp_path):
    config = sim_config(tmp_path, display="file://out.mp4")
    display = open_display(config)
    colors = [(250, 10, 10), (10, 250, 10), (10, 10, 250)]
    for i in range(15):
        display.render(np.full((48, 64, 3), colors[i % 3], np.uint8))
    assert not (tmp_path / "out.mp4").exists()       # renamed into place only when closed
    display.close()
    cap = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert len(frames) == 15 and frames[0].shape == (48, 64, 3)
    for i, f in enumerate(frames):
        assert np.abs(f.mean(axis=(0, 1)) - colors[i % 3]).max() < 25


def test_png_folder_and_fps_overlay(tmp_path):
    (tmp_path / "frames").mkdir()
    config = sim_config(tmp_path, display="file://frames/")
    display = open_display(config)
    plain = np.full((48, 64, 3), 90, np.uint8)
    display.render(plain)
    display.render(plain, text="30.0 fps")
    display.close()
    first = cv2.imread(str(tmp_path / "frames" / "frame_000001.png"))
    second = cv2.imread(str(tmp_path / "frames" / "frame_000002.png"))
    assert (first == 90).all() and not (second == 90).all()   # the overlay drew on the frame
