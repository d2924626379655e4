"""What an output keeps: EXIF (orientation 1, dimensions updated, no thumbnail), the ICC
profile unchanged, XMP, PNG text and a provenance record; --strip-metadata and
--no-provenance; imgtrans info on an output; bad metadata costs nothing."""

from __future__ import annotations

import io
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image
from typer.testing import CliRunner

from imgtrans.cli import app

sys.path.insert(0, str(Path(__file__).parent))
from photo_files import XMP, display_p3_profile, iptc_block, write_photo  # noqa: E402


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result


def opened(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


def xmp_of(image: Image.Image) -> str:
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    return xmp.decode() if isinstance(xmp, bytes) else xmp


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "tiff"])
def test_photo_keeps_exif_profile_xmp_and_gets_provenance(host, tmp_path, ext):
    source = write_photo(tmp_path / "harbour.jpg")  # 60x40 stored, orientation 6
    out = tmp_path / f"out.{ext}"
    result = run("convert", source, out, "-p", "resize", "--opt", "scale=2", "--seed", "7",
                 "--report", tmp_path / "r.json", "--progress", "none")
    assert result.exit_code == 0, result.output
    image = opened(out)
    assert image.size == (80, 120)  # upright (rotated) and scaled
    assert image.info["icc_profile"] == display_p3_profile()
    assert "Harbour at dawn" in xmp_of(image)
    exif = image.getexif()
    assert exif.get(0x0112, 1) == 1 and exif[0x010F] == "Canon"  # TIFF: no tag means 1
    assert exif[0x0132] == "2024:05:01 06:12:00"
    assert exif.get_ifd(ExifTags.IFD.Exif)[0xA002] == 80
    assert exif.get_ifd(ExifTags.IFD.Exif)[0xA003] == 120
    assert exif.get_ifd(ExifTags.IFD.Exif)[0x9003] == "2024:05:01 06:12:00"
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)[2] == (48.0, 51.0, 24.0)
    assert not exif.get_ifd(ExifTags.IFD.IFD1)  # the input's thumbnail is not carried
    info = run("info", out, "--json")
    assert info.exit_code == 0, info.output
    record = json.loads(info.output)["provenance"]
    digest = __import__("hashlib").sha256(source.read_bytes()).hexdigest()
    assert record["translator"] == "resize" and record["seed"] == 7
    assert record["input"] == {"name": "harbour.jpg", "sha256": digest}
    assert record["options"] == {"scale": 2, "interpolation": "bicubic"}
    assert record["precision"] == "exact" and record["tile"] == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["settings"]["provenance"]["translator"] == "resize"
    assert report["items"][0]["input_sha256"] == digest


def test_png_input_keeps_text_chunks_and_16_bits(host, tmp_path):
    source = write_photo(tmp_path / "a.png", "PNG")
    out = tmp_path / "out.png"
    assert run("convert", source, out, "-p", "resize", "--opt", "scale=1").exit_code == 0
    image = opened(out)
    assert image.info["Description"] == "Le port à l'aube"
    assert image.info["icc_profile"] == display_p3_profile()
    assert image.getexif()[0x0112] == 1
    import cv2

    deep = tmp_path / "deep.png"  # 16-bit with iCCP: kept 16-bit, profile kept
    pixels = np.random.default_rng(0).integers(0, 65536, (8, 8, 3), dtype=np.uint16)
    assert cv2.imwrite(str(deep), pixels)
    with_profile = tmp_path / "deep_icc.png"
    from imgtrans.core.metadata import ImageMetadata
    from imgtrans.core.metadata_embed import embed

    with_profile.write_bytes(embed(deep.read_bytes(), "png", ImageMetadata(icc=display_p3_profile()),
                                   None, 8, 8, 3))
    out16 = tmp_path / "out16.png"
    assert run("convert", with_profile, out16, "-p", "resize", "--opt", "scale=1").exit_code == 0
    assert cv2.imread(str(out16), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    assert opened(out16).info["icc_profile"] == display_p3_profile()


def test_info_prints_the_command_that_reproduces_the_output(test_translators, tmp_path, monkeypatch):
    source = write_photo(tmp_path / "harbour.jpg")
    out = tmp_path / "first.png"
    assert run("convert", source, out, "-p", "noise", "--seed", "11").exit_code == 0
    info = run("info", out)
    assert info.exit_code == 0, info.output
    assert "provenance:" in info.output and "translator: noise" in info.output
    command = info.output.strip().splitlines()[-1]
    words = shlex.split(command)
    assert words[:4] == ["imgtrans", "convert", "harbour.jpg", "first.png"]
    monkeypatch.chdir(tmp_path)
    again = tmp_path / "again.png"
    words[3] = str(again)
    assert run(*words[1:]).exit_code == 0
    assert np.array_equal(np.asarray(opened(out)), np.asarray(opened(again)))


def test_strip_metadata_writes_none_of_it(host, tmp_path):
    source = write_photo(tmp_path / "a.jpg")
    for ext in ("jpg", "png"):
        out = tmp_path / f"out.{ext}"
        assert run("convert", source, out, "-p", "resize", "--strip-metadata").exit_code == 0
        data = out.read_bytes()
        image = opened(out)
        assert not image.getexif() and "icc_profile" not in image.info
        assert b"Canon" not in data and b"provenance" not in data and b"Harbour" not in data


@pytest.mark.parametrize("ext", ["jpg", "tiff"])
def test_iptc_block_is_carried_and_stripped(host, tmp_path, ext):
    from PIL import IptcImagePlugin

    source = write_photo(tmp_path / "agency.jpg", iptc=True)
    out = tmp_path / f"out.{ext}"
    result = run("convert", source, out, "-p", "resize", "--opt", "scale=1")
    assert result.exit_code == 0, result.output
    found = IptcImagePlugin.getiptcinfo(opened(out))
    assert found[(2, 120)] == b"Harbour at dawn, Honfleur"
    assert found[(2, 25)] == [b"harbour", b"dawn", b"boats"]
    assert found[(2, 116)] == b"(c) 2024 A. Photographer"
    assert iptc_block() in out.read_bytes()  # byte for byte
    assert "Harbour at dawn" in xmp_of(opened(out))  # the XMP is kept beside it
    stripped = tmp_path / f"stripped.{ext}"
    assert run("convert", source, stripped, "-p", "resize", "--strip-metadata").exit_code == 0
    assert IptcImagePlugin.getiptcinfo(opened(stripped)) is None
    assert b"Photographer" not in stripped.read_bytes()


def test_tiff_exif_keeps_orientation_without_exif_option(host, tmp_path):
    source = write_photo(tmp_path / "a.jpg")
    out = tmp_path / "out.tiff"
    assert run("convert", source, out, "-p", "resize", "--opt", "scale=1", "--no-exif").exit_code == 0
    import tifffile  # Pillow reports a TIFF's size as oriented; tifffile as stored

    with tifffile.TiffFile(out) as tif:
        assert tif.pages[0].shape[:2] == (40, 60) and tif.pages[0].tags[274].value == 6


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_color_srgb_refuses_a_cmyk_image_without_a_profile(host, tmp_path, fmt):
    source = tmp_path / f"press.{fmt.lower()}"
    Image.new("CMYK", (8, 6), (0, 200, 30, 10)).save(source, fmt)
    result = run("convert", source, tmp_path / "out.png", "-p", "resize", "--color", "srgb")
    assert result.exit_code == 3
    assert "CMYK image without an ICC profile" in " ".join(result.output.split())
    kept = tmp_path / "kept.png"  # --color keep: the decoder's plain conversion
    assert run("convert", source, kept, "-p", "resize", "--opt", "scale=1").exit_code == 0
    assert opened(kept).size == (8, 6)


def test_tiff_without_tifffile_is_one_warning(tmp_path, caplog, monkeypatch):
    import cv2

    from imgtrans.core import metadata_tiff
    from imgtrans.core.metadata import ImageMetadata
    from imgtrans.core.metadata_embed import embed

    monkeypatch.setitem(sys.modules, "tifffile", None)  # import tifffile raises ImportError
    monkeypatch.setattr(metadata_tiff, "_warned_missing", False)
    ok, encoded = cv2.imencode(".tiff", np.zeros((4, 4, 3), np.uint8))
    meta = ImageMetadata(xmp=XMP, iptc=iptc_block())
    for _ in range(3):
        assert embed(encoded.tobytes(), "tiff", meta, None, 4, 4, 3) == encoded.tobytes()
    lines = [r for r in caplog.records if "tifffile" in r.getMessage()]
    assert len(lines) == 1 and "without metadata" in lines[0].getMessage()


def test_no_provenance_keeps_the_rest(host, tmp_path):
    source = write_photo(tmp_path / "a.jpg")
    out = tmp_path / "out.jpg"
    assert run("convert", source, out, "-p", "resize", "--no-provenance").exit_code == 0
    image = opened(out)
    assert image.getexif()[0x010F] == "Canon"
    assert b"provenance" not in out.read_bytes()
    assert json.loads(run("info", out, "--json").output)["provenance"] is None


def test_no_exif_keeps_the_orientation_tag(host, tmp_path):
    source = write_photo(tmp_path / "a.jpg")
    out = tmp_path / "out.jpg"
    assert run("convert", source, out, "-p", "resize", "--opt", "scale=1", "--no-exif").exit_code == 0
    image = opened(out)
    assert image.size == (60, 40) and image.getexif()[0x0112] == 6


def test_bad_metadata_costs_nothing(host, tmp_path, caplog):
    pixels = np.zeros((8, 8, 3), np.uint8)
    broken = tmp_path / "broken.jpg"
    Image.fromarray(pixels).save(broken, exif=b"Exif\x00\x00MM\x00*\x00\x00\xff\xff" + b"\x01" * 40,
                                 icc_profile=b"not a profile at all")
    out = tmp_path / "out.png"
    result = run("convert", broken, out, "-p", "resize", "--opt", "scale=1")
    assert result.exit_code == 0, result.output
    image = opened(out)
    assert "icc_profile" not in image.info
    text = tmp_path / "latin.png"  # a tEXt chunk with bytes that are not UTF-8
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "caf\xe9")
    Image.fromarray(pixels).save(text, pnginfo=info)
    out2 = tmp_path / "out2.jpg"
    assert run("convert", text, out2, "-p", "resize", "--opt", "scale=1").exit_code == 0


def test_huge_xmp_is_left_out_of_jpeg_with_a_warning(tmp_path, caplog):
    from imgtrans.core.metadata import ImageMetadata
    from imgtrans.core.metadata_embed import embed

    encoded = io.BytesIO()
    Image.new("RGB", (4, 4)).save(encoded, "JPEG")
    big = XMP.replace(b"Harbour", b"H" * 70000)
    data = embed(encoded.getvalue(), "jpg", ImageMetadata(xmp=big), None, 4, 4, 3)
    assert Image.open(io.BytesIO(data)).size == (4, 4)
    assert "XMP left out" in caplog.text


def _p3_png(path: Path, pixels: np.ndarray) -> Path:
    """A PNG (8 or 16 bits, gray or colour) carrying the Display P3 profile."""
    import cv2

    from imgtrans.core.metadata import ImageMetadata
    from imgtrans.core.metadata_embed import embed

    bgr = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", bgr)
    assert ok
    channels = 1 if pixels.ndim == 2 else 3
    path.write_bytes(embed(encoded.tobytes(), "png", ImageMetadata(icc=display_p3_profile()),
                           None, pixels.shape[1], pixels.shape[0], channels))
    return path


def _direct_srgb(pixels: np.ndarray) -> np.ndarray:
    from PIL import ImageCms

    source = ImageCms.ImageCmsProfile(io.BytesIO(display_p3_profile()))
    result = ImageCms.profileToProfile(Image.fromarray(pixels), source,
                                       ImageCms.createProfile("sRGB"), outputMode="RGB")
    return np.asarray(result)


def test_color_srgb_equals_a_direct_littlecms_conversion(host, tmp_path):
    import cv2

    from imgtrans.core.colour import srgb_profile
    from photo_files import photo_pixels

    pixels = photo_pixels()
    source = _p3_png(tmp_path / "p3.png", pixels)
    out = tmp_path / "out.png"
    result = run("convert", source, out, "-p", "resize", "--opt", "scale=1", "--color", "srgb")
    assert result.exit_code == 0, result.output
    got = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    assert np.array_equal(got, _direct_srgb(pixels))
    assert opened(out).info["icc_profile"] == srgb_profile()
    record = json.loads(run("info", out, "--json").output)
    assert record["provenance"]["color"] == "srgb" and "--color srgb" in record["command"]
    kept = tmp_path / "kept.png"  # the default: stored values, the input's profile
    assert run("convert", source, kept, "-p", "resize", "--opt", "scale=1").exit_code == 0
    assert np.array_equal(cv2.cvtColor(cv2.imread(str(kept)), cv2.COLOR_BGR2RGB), pixels)
    assert opened(kept).info["icc_profile"] == display_p3_profile()


def test_color_srgb_keeps_16_bits(host, tmp_path):
    import cv2

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 65536, (16, 24, 3), dtype=np.uint16)
    source = _p3_png(tmp_path / "deep.png", pixels)
    out = tmp_path / "out.png"
    result = run("convert", source, out, "-p", "resize", "--opt", "scale=1", "--color", "srgb")
    assert result.exit_code == 0, result.output
    got = cv2.cvtColor(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    assert got.dtype == np.uint16
    assert len(np.unique(got)) > 256  # not 8-bit values widened
    eight = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)  # 8-bit values, widened exactly
    wide = _p3_png(tmp_path / "wide.png", eight.astype(np.uint16) * 257)
    assert run("convert", wide, out, "-p", "resize", "--opt", "scale=1", "--color", "srgb",
               "--overwrite").exit_code == 0
    got = cv2.cvtColor(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    difference = np.abs(got / 257.0 - _direct_srgb(eight).astype(np.float64))
    assert difference.max() <= 1.0, difference.max()  # littleCMS's 8-bit path rounds once more


def test_color_srgb_refuses_a_gray_image_with_a_colour_profile(host, tmp_path):
    gray = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    source = tmp_path / "gray.png"
    from imgtrans.core.metadata import ImageMetadata
    from imgtrans.core.metadata_embed import embed
    import cv2

    ok, encoded = cv2.imencode(".png", gray)
    source.write_bytes(embed(encoded.tobytes(), "png", ImageMetadata(icc=display_p3_profile()),
                             None, 8, 8, 3))  # a colour profile on gray pixels
    result = run("convert", source, tmp_path / "out.png", "-p", "resize", "--color", "srgb")
    assert result.exit_code == 3
    assert "RGB ICC profile on a gray image" in " ".join(result.output.split())
    assert run("convert", tmp_path / "x.png", tmp_path / "y.png", "-p", "resize",
               "--color", "adobe").exit_code != 0
