"""Decoding: pixel layout, bit depth, odd PNG/TIFF kinds, EXIF orientation and every failure."""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from imgtrans.core import readers
from imgtrans.core.readers import IMAGE_EXTENSIONS, DecodedImage, read_image
from imgtrans.errors import InputError


def pattern(h: int = 6, w: int = 10) -> np.ndarray:
    """RGB pattern in which every pixel differs, so any rotation or flip shows."""
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def save(path: Path, image: Image.Image, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def exif_with(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def reason(path: Path, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        read_image(path, **kwargs)
    assert caught.value.path == path
    return caught.value.reason


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR declares ``width``×``height`` RGB pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


# --- layout --------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["png", "jpg", "bmp", "tiff", "webp", "ppm", "gif"])
def test_pixels_are_rgb_not_bgr(tmp_path, fmt):
    path = save(tmp_path / f"red.{fmt}", Image.new("RGB", (8, 5), (255, 0, 0)))
    image = read_image(path)
    assert image.pixels.shape == (5, 8, 3) and image.pixels.dtype == np.uint8
    assert (image.pixels[..., 0] >= 250).all() and (image.pixels[..., 2] <= 5).all()
    assert (image.format, image.bit_depth, image.channels, image.has_alpha) == (fmt, 8, 3, False)
    assert (image.height, image.width) == (5, 8)


def test_decoded_image_properties():
    image = DecodedImage(np.zeros((2, 3, 4), np.uint16), 16, "png")
    assert (image.height, image.width, image.channels, image.has_alpha) == (2, 3, 4, True)
    assert DecodedImage(np.zeros((2, 3), np.uint8), 8, "png").channels == 1


def test_extensions_cover_the_common_formats():
    assert {"png", "jpg", "jpeg", "tif", "tiff", "webp", "bmp", "gif", "pgm"} <= IMAGE_EXTENSIONS


def test_format_comes_from_the_suffix_or_the_content(tmp_path):
    assert read_image(save(tmp_path / "a.JPEG", Image.new("RGB", (4, 4)), format="JPEG")).format == "jpeg"
    assert read_image(save(tmp_path / "noext", Image.new("RGB", (4, 4)), format="JPEG")).format == "jpg"


def test_16_bit_gray_png_keeps_16_bits(tmp_path):
    values = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    path = save(tmp_path / "g16.png", Image.fromarray(values))
    image = read_image(path)
    assert image.bit_depth == 16 and image.pixels.dtype == np.uint16
    np.testing.assert_array_equal(image.pixels, values)


def test_palette_png(tmp_path):
    rgb = Image.fromarray(pattern(4, 4)).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    image = read_image(save(tmp_path / "p.png", rgb))
    np.testing.assert_array_equal(image.pixels, np.asarray(rgb.convert("RGB")))


def test_palette_png_with_transparency_gets_alpha(tmp_path):
    image = read_image(save(tmp_path / "pt.png", Image.new("P", (4, 3), 0), transparency=0))
    assert image.channels == 4 and (image.pixels[..., 3] == 0).all()


def test_one_bit_png_is_0_or_255(tmp_path):
    bits = Image.new("1", (5, 4), 0)
    bits.putpixel((1, 1), 1)
    image = read_image(save(tmp_path / "bits.png", bits))
    assert image.pixels.shape == (4, 5) and image.pixels[1, 1] == 255 and image.pixels[0, 0] == 0


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_gray_alpha_becomes_rgba(tmp_path, fmt):
    path = save(tmp_path / f"la.{fmt}", Image.new("LA", (4, 3), (10, 20)))
    image = read_image(path)
    assert image.pixels.shape == (3, 4, 4)
    assert tuple(image.pixels[0, 0]) == (10, 10, 10, 20)


def test_two_channel_decoder_output_becomes_rgba(tmp_path, monkeypatch):
    path = save(tmp_path / "x.png", Image.new("L", (4, 3)))
    two = np.dstack([np.full((3, 4), 7, np.uint16), np.full((3, 4), 9, np.uint16)])
    monkeypatch.setattr(readers.cv2, "imdecode", lambda buf, flags: two)
    image = read_image(path)
    assert image.bit_depth == 16 and tuple(image.pixels[0, 0]) == (7, 7, 7, 9)


def test_cmyk_tiff_reads_as_rgb_without_alpha(tmp_path):
    image = read_image(save(tmp_path / "c.tiff", Image.new("CMYK", (4, 3), (0, 255, 0, 0))))
    assert image.pixels.shape == (3, 4, 3) and tuple(image.pixels[0, 0]) == (255, 0, 255)


def test_gif_first_frame_and_transparency(tmp_path):
    frames = [Image.new("RGB", (4, 3), (255, 0, 0)), Image.new("RGB", (4, 3), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert tuple(read_image(path).pixels[0, 0]) == (255, 0, 0)
    clear = read_image(save(tmp_path / "t.gif", Image.new("P", (4, 3), 0), transparency=0))
    assert clear.has_alpha and (clear.pixels[..., 3] == 0).all()


def test_non_ascii_path(tmp_path):
    folder = tmp_path / "répertoire"
    folder.mkdir()
    path = save(folder / "façade_日本.png", Image.fromarray(pattern()))
    np.testing.assert_array_equal(read_image(path).pixels, pattern())


def test_bytes_after_the_jpeg_end_marker_are_allowed(tmp_path):
    path = save(tmp_path / "a.jpg", Image.fromarray(pattern()))
    path.write_bytes(path.read_bytes() + b"\x00\x00 \n" + b"appended motion-photo video")
    assert read_image(path).pixels.shape == (6, 10, 3)


# --- EXIF orientation ----------------------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["png", "tiff", "webp"])
def test_every_orientation_matches_pil(tmp_path, fmt, orientation):
    kwargs = {"lossless": True} if fmt == "webp" else {}
    path = save(tmp_path / f"o.{fmt}", Image.fromarray(pattern()), exif=exif_with(orientation), **kwargs)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    np.testing.assert_array_equal(read_image(path).pixels, expected)
    np.testing.assert_array_equal(read_image(path, apply_exif=False).pixels, pattern())


def corners_jpeg(tmp_path: Path, orientation: int) -> Path:
    """80 wide × 40 high, stored with a white top-left corner block."""
    stored = np.zeros((40, 80, 3), np.uint8)
    stored[:10, :10] = 255
    return save(tmp_path / f"o{orientation}.jpg", Image.fromarray(stored), exif=exif_with(orientation))


@pytest.mark.parametrize("orientation, shape, white_corner", [
    (6, (80, 40, 3), (0, -1)),   # rotated 90° clockwise: top-left goes to top-right
    (3, (40, 80, 3), (-1, -1)),  # rotated 180°
    (8, (80, 40, 3), (-1, 0)),   # rotated 90° counter-clockwise
])
def test_jpeg_orientation(tmp_path, orientation, shape, white_corner):
    image = read_image(corners_jpeg(tmp_path, orientation))
    assert image.pixels.shape == shape
    assert image.pixels[white_corner].min() > 200 and image.pixels[0, 0].max() < 50


def test_apply_exif_false_keeps_stored_orientation(tmp_path):
    image = read_image(corners_jpeg(tmp_path, 6), apply_exif=False)
    assert image.pixels.shape == (40, 80, 3) and image.pixels[0, 0].min() > 200


def test_broken_orientation_value_is_ignored(tmp_path):
    path = save(tmp_path / "bad.png", Image.fromarray(pattern()), exif=exif_with(42))
    np.testing.assert_array_equal(read_image(path).pixels, pattern())


def test_garbage_exif_is_ignored(tmp_path):
    path = save(tmp_path / "junk.jpg", Image.new("RGB", (8, 4)), exif=b"Exif\x00\x00MM\x00*junk")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_image(path).pixels.shape == (4, 8, 3)


# --- failures ------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    assert reason(tmp_path / "nope.png").startswith("cannot read file: ")


def test_directory(tmp_path):
    folder = tmp_path / "dir.png"
    folder.mkdir()
    assert reason(folder).startswith("cannot read file: ")


def test_empty_file(tmp_path):
    (tmp_path / "e.png").write_bytes(b"")
    assert reason(tmp_path / "e.png") == "empty file"


def test_text_file_is_not_an_image(tmp_path):
    (tmp_path / "t.png").write_text("hello, I am text\n" * 10)
    assert reason(tmp_path / "t.png") == "not an image (unrecognised format)"


def test_other_image_formats_are_unsupported(tmp_path):
    path = save(tmp_path / "icon.png", Image.new("RGB", (16, 16)), format="ICO")
    assert reason(path) == "unsupported image format: ICO"


def test_jpeg_cut_in_half(tmp_path):
    path = save(tmp_path / "a.jpg", Image.fromarray(pattern(64, 64)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert reason(path) == "truncated JPEG (missing end-of-image marker)"


def test_jpeg_end_marker_inside_a_segment_does_not_count(tmp_path):
    """An EXIF thumbnail carries its own FFD9; that must not hide a cut main image."""
    path = save(tmp_path / "a.jpg", Image.fromarray(pattern(64, 64)))
    data = path.read_bytes()
    data = data[:2] + b"\xff\xef\x00\x06x\xff\xd9y" + data[2:]
    path.write_bytes(data[: len(data) // 2] + b"\x00\x00")
    assert reason(path) == "truncated JPEG (missing end-of-image marker)"


def test_png_cut(tmp_path):
    path = save(tmp_path / "a.png", Image.fromarray(pattern(64, 64)))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.9)])
    assert reason(path) == "truncated PNG (missing IEND chunk)"


def test_tiff_with_cut_header(tmp_path):
    path = save(tmp_path / "a.tiff", Image.fromarray(pattern(64, 64)), compression="tiff_lzw")
    path.write_bytes(path.read_bytes()[:300])
    assert reason(path) == "corrupt or truncated TIFF (cannot read header)"


def test_crafted_huge_header_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(100_000, 100_000))
    text = reason(path)
    assert text.startswith("too large: 10000000000 pixels exceeds the limit of 178956970")
    assert text.endswith("(decompression bomb?)")


def test_crafted_header_over_our_own_limit(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(10_000, 10_000))  # 1e8: PIL only warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any leaked warning fails the test
        text = reason(path, max_pixels=50_000_000)
    assert text == "too large: 10000×10000 pixels exceeds the limit of 50000000 (decompression bomb?)"


def test_max_pixels_on_a_real_image(tmp_path):
    path = save(tmp_path / "a.png", Image.fromarray(pattern()))
    assert reason(path, max_pixels=59) == ("too large: 10×6 pixels exceeds the limit of 59 "
                                           "(decompression bomb?)")
    assert read_image(path, max_pixels=60).width == 10


def test_pil_bomb_warning_does_not_leak(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40)
    path = save(tmp_path / "a.png", Image.fromarray(pattern()))  # 60 pixels: warning zone
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_image(path).width == 10
    big = save(tmp_path / "b.png", Image.fromarray(pattern(10, 10)))  # 100 > 2 × 40
    assert reason(big) == "too large: 100 pixels exceeds the limit of 80 (decompression bomb?)"


@pytest.mark.parametrize("mode, dtype", [("F", "float32"), ("I", "int32")])
def test_float_and_32_bit_images_are_refused(tmp_path, mode, dtype):
    path = save(tmp_path / "f.tiff", Image.new(mode, (4, 3), 1))
    assert reason(path) == f"unsupported pixel type: {dtype} (only 8- and 16-bit integer images)"


def test_decoder_failure(tmp_path, monkeypatch):
    path = save(tmp_path / "a.png", Image.fromarray(pattern()))
    monkeypatch.setattr(readers.cv2, "imdecode", lambda buf, flags: None)
    assert reason(path) == "cannot decode PNG data (corrupt or unsupported variant)"


def test_unsupported_channel_count(tmp_path, monkeypatch):
    path = save(tmp_path / "a.png", Image.fromarray(pattern()))
    monkeypatch.setattr(readers.cv2, "imdecode", lambda buf, flags: np.zeros((2, 2, 5), np.uint8))
    assert reason(path) == "unsupported channels: 5"
