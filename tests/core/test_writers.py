"""Encoding, format choice and atomic writes."""

from __future__ import annotations

import io
import os
import stat

import numpy as np
import pytest
from PIL import Image

from imgtrans.core import writers
from imgtrans.core.readers import read_image
from imgtrans.core.writers import (WRITABLE, choose_extension, encode_image, write_atomic,
                                   write_image)


def sample(channels: int, bits: int, h: int = 5, w: int = 7) -> np.ndarray:
    rng = np.random.default_rng(channels * 100 + bits)
    dtype = np.uint16 if bits == 16 else np.uint8
    shape = (h, w) if channels == 1 else (h, w, channels)
    return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


def folder_names(path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


# --- round trips ---------------------------------------------------------------------------

@pytest.mark.parametrize("ext", ["png", "tiff", "tif"])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("bits", [8, 16])
def test_lossless_round_trip(tmp_path, ext, channels, bits):
    pixels = sample(channels, bits)
    path = tmp_path / f"x.{ext}"
    write_image(path, pixels)
    image = read_image(path)
    assert image.bit_depth == bits and image.format == ext
    np.testing.assert_array_equal(image.pixels, pixels)


@pytest.mark.parametrize("ext, channels, bits", [
    ("ppm", 3, 8), ("ppm", 3, 16), ("pgm", 1, 8), ("pgm", 1, 16), ("pnm", 1, 16),
    ("bmp", 1, 8), ("bmp", 3, 8),
])
def test_other_lossless_formats(tmp_path, ext, channels, bits):
    pixels = sample(channels, bits)
    write_image(tmp_path / f"x.{ext}", pixels)
    np.testing.assert_array_equal(read_image(tmp_path / f"x.{ext}").pixels, pixels)


def smooth(channels: int) -> np.ndarray:
    y, x = np.mgrid[0:32, 0:48]
    planes = [x * 5, y * 7, (x + y) * 3, np.full_like(x, 200)][:channels]
    return np.dstack(planes).astype(np.uint8)


def test_jpeg_round_trip_is_close(tmp_path):
    pixels = smooth(3)
    write_image(tmp_path / "x.jpg", pixels, quality=95)
    image = read_image(tmp_path / "x.jpg")
    assert image.pixels.shape == pixels.shape
    assert np.abs(image.pixels.astype(int) - pixels).mean() < 3


def test_webp_keeps_alpha(tmp_path):
    pixels = smooth(4)
    write_image(tmp_path / "x.webp", pixels)
    image = read_image(tmp_path / "x.webp")
    assert image.has_alpha and np.abs(image.pixels.astype(int) - pixels).mean() < 4


def test_quality_changes_jpeg_size():
    pixels = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    assert len(encode_image(pixels, "jpg", quality=30)) < len(encode_image(pixels, "jpg", quality=95))


def test_encoding_takes_rgb_order():
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    for ext in ("png", "jpg", "bmp", "tiff"):
        decoded = Image.open(io.BytesIO(encode_image(red, ext))).convert("RGB")
        assert decoded.getpixel((0, 0))[0] > 250 and decoded.getpixel((0, 0))[2] < 5, ext


def test_extension_spelling_is_forgiven():
    assert encode_image(sample(3, 8), ".PNG").startswith(b"\x89PNG")
    assert encode_image(sample(3, 8), "JPEG").startswith(b"\xff\xd8")


def test_single_channel_third_axis_is_gray():
    data = encode_image(sample(1, 8)[..., None], "png")
    assert Image.open(io.BytesIO(data)).mode == "L"


def test_no_exif_orientation_is_written(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (8, 4)).save(tmp_path / "in.jpg", exif=exif.tobytes())
    write_image(tmp_path / "out.jpg", read_image(tmp_path / "in.jpg").pixels)
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.size == (4, 8) and 0x0112 not in out.getexif()


@pytest.mark.parametrize("pixels, ext, message", [
    (sample(4, 8), "jpg", "jpg cannot store an alpha channel"),
    (sample(3, 16), "jpg", "jpg cannot store 16-bit images"),
    (sample(3, 16), "webp", "webp cannot store 16-bit images"),
    (sample(4, 8), "bmp", "bmp cannot store an alpha channel"),
    (sample(1, 8), "ppm", "ppm cannot store gray images"),
    (sample(3, 8), "pgm", "pgm cannot store colour images"),
    (sample(3, 8), "gif", "cannot write 'gif' files"),
    (sample(3, 8).astype(np.float32), "png", "unsupported pixel type: float32"),
    (np.zeros((4, 4, 2), np.uint8), "png", "unsupported image shape"),
])
def test_encode_refuses_what_the_format_cannot_hold(pixels, ext, message):
    with pytest.raises(ValueError, match=message):
        encode_image(pixels, ext)


@pytest.mark.parametrize("quality", [0, 101])
def test_quality_range(quality):
    with pytest.raises(ValueError, match="quality"):
        encode_image(sample(3, 8), "jpg", quality=quality)


def test_encoder_failure_is_a_value_error(monkeypatch):
    monkeypatch.setattr(writers.cv2, "imencode", lambda ext, img, params: (False, None))
    with pytest.raises(ValueError, match="cannot encode png"):
        encode_image(sample(3, 8), "png")


# --- choosing the extension ----------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (("jpg", 4, 8, None), "png"),      # alpha does not fit JPEG
    (("jpg", 3, 16, None), "png"),     # nor do 16 bits
    (("jpg", 3, 8, None), "jpg"),
    (("JPEG", 1, 8, None), "jpeg"),
    (("png", 4, 16, None), "png"),
    (("tif", 4, 16, None), "tif"),
    (("webp", 4, 8, None), "webp"),
    (("bmp", 4, 8, None), "png"),
    (("gif", 3, 8, None), "png"),      # GIF is read, never written
    (("pgm", 3, 8, None), "png"),
    (("", 3, 8, None), "png"),
    (("png", 3, 8, "jpg"), "jpg"),
    (("png", 3, 16, ".TIFF"), "tiff"),
    (("gif", 4, 8, "webp"), "webp"),
])
def test_choose_extension(args, expected):
    assert choose_extension(*args) == expected


@pytest.mark.parametrize("args, message", [
    (("png", 4, 8, "jpg"), "jpg cannot store an alpha channel"),
    (("png", 3, 16, "webp"), "webp cannot store 16-bit"),
    (("png", 3, 8, "gif"), "cannot write 'gif' files; writable formats: "),
    (("png", 2, 8, None), "2 channels"),
    (("png", 3, 32, None), "32-bit"),
])
def test_choose_extension_refuses(args, message):
    with pytest.raises(ValueError, match=message):
        choose_extension(*args)


def test_every_writable_format_encodes_what_it_claims():
    for ext, capability in WRITABLE.items():
        for channels in capability.channels:
            for bits in capability.bit_depths:
                assert encode_image(sample(channels, bits), ext), (ext, channels, bits)


# --- atomic writes -------------------------------------------------------------------------

def test_write_atomic_creates_folders_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a" / "b" / "out.bin"
    write_atomic(target, b"hello")
    assert target.read_bytes() == b"hello"
    assert folder_names(target.parent) == ["out.bin"]


def test_write_atomic_replaces_existing(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and folder_names(tmp_path) == ["out.bin"]


def test_non_ascii_path(tmp_path):
    target = tmp_path / "sortie" / "façade_日本.png"
    write_image(target, sample(3, 8))
    np.testing.assert_array_equal(read_image(target).pixels, sample(3, 8))


@pytest.mark.skipif(os.name != "posix", reason="umask is POSIX")
def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "out.bin", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == 0o644


def fail(*args, **kwargs):
    raise OSError("disk on fire")


@pytest.mark.parametrize("patched", ["fsync", "replace"])
def test_failed_write_leaves_nothing(tmp_path, monkeypatch, patched):
    monkeypatch.setattr(writers.os, patched, fail)
    with pytest.raises(OSError, match="disk on fire"):
        write_atomic(tmp_path / "out.bin", b"data")
    assert folder_names(tmp_path) == []


def test_failed_write_keeps_the_existing_target(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    monkeypatch.setattr(writers.os, "fsync", fail)
    with pytest.raises(OSError):
        write_image(target, sample(3, 8))
    assert target.read_bytes() == b"precious" and folder_names(tmp_path) == ["out.png"]


def test_interrupt_mid_write_cleans_up(tmp_path, monkeypatch):
    def interrupt(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(writers.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "out.bin", b"data")
    assert folder_names(tmp_path) == []


def test_temp_file_is_hidden_and_beside_the_target(tmp_path, monkeypatch):
    seen = []

    def spy(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src)))
        raise OSError("stop")
    monkeypatch.setattr(writers.os, "replace", spy)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "out.png", b"data")
    folder, name = seen[0]
    assert folder == str(tmp_path) and writers.TEMP_NAME.fullmatch(name)  # .imgtrans-<8 hex>.tmp


@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "webp"])
def test_large_results_stream_into_the_file(tmp_path, monkeypatch, ext):
    """Above STREAM_FROM_BYTES OpenCV encodes straight into the temporary file: same file
    as the in-memory encoder, no temporary file left, and with reuse_pixels the RGB to BGR
    swap happens in the caller's array instead of a copy."""
    monkeypatch.setattr(writers, "STREAM_FROM_BYTES", 0)
    pixels = sample(3, 8)
    original = pixels.copy()
    writers.write_pixels(tmp_path / f"big.{ext}", pixels, reuse_pixels=True)
    assert (tmp_path / f"big.{ext}").read_bytes() == writers.encode_image(original, ext)
    assert np.array_equal(pixels, original[..., ::-1])  # swapped in place: no copy made
    assert folder_names(tmp_path) == [f"big.{ext}"]
    kept = sample(3, 8)
    writers.write_pixels(tmp_path / f"kept.{ext}", kept)
    assert np.array_equal(kept, sample(3, 8))  # without reuse_pixels the input is untouched


def test_streamed_write_failure_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "STREAM_FROM_BYTES", 0)
    monkeypatch.setattr(writers.cv2, "imwrite", lambda *a, **k: False)
    (tmp_path / "out.png").write_bytes(b"old")
    with pytest.raises(ValueError, match="cannot encode png"):
        writers.write_pixels(tmp_path / "out.png", sample(3, 8))
    assert folder_names(tmp_path) == ["out.png"] and (tmp_path / "out.png").read_bytes() == b"old"
