"""Reading never hangs or crashes: only regular files, bounded reads, and a fuzzed decoder
that fails only with InputError."""

from __future__ import annotations

import io
import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imgtrans.core.input_files import max_file_bytes, read_file
from imgtrans.core.readers import ImageProbe, probe_image, read_image
from imgtrans.errors import InputError

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs and symlinks")


def reason(path: Path, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        read_image(path, **kwargs)
    return caught.value.reason


def in_thread(function, *args, timeout: float = 10.0):
    """Run ``function``; fail instead of hanging the test run when it blocks."""
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(_capture(function, *args)), daemon=True)
    worker.start()
    worker.join(timeout)
    assert outcome, f"{function.__name__} blocked for {timeout} s"
    return outcome[0]


def _capture(function, *args):
    try:
        return function(*args)
    except Exception as exc:  # returned, so the test can look at it
        return exc


@posix_only
def test_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "x.png")
    result = in_thread(read_image, tmp_path / "x.png")
    assert isinstance(result, InputError) and result.reason == "cannot read file: not a regular file (a FIFO)"
    assert in_thread(probe_image, tmp_path / "x.png") is None


@posix_only
def test_symlink_to_a_device_loop_and_broken_link(tmp_path):
    (tmp_path / "zero.png").symlink_to("/dev/zero")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    (tmp_path / "gone.png").symlink_to(tmp_path / "missing.png")
    assert in_thread(reason, tmp_path / "zero.png") == "cannot read file: not a regular file (a character device)"
    assert "symlink loop" in reason(tmp_path / "loop.png")
    assert "broken symlink" in reason(tmp_path / "gone.png")


@posix_only
def test_socket_is_refused(tmp_path):
    import socket

    with tempfile.TemporaryDirectory(dir="/tmp") as folder, socket.socket(socket.AF_UNIX) as server:
        path = Path(folder) / "s.png"  # short: socket paths are limited to ~100 bytes
        server.bind(str(path))
        assert reason(path) == "cannot read file: not a regular file (a socket)"


def test_file_size_is_checked_before_reading(tmp_path):
    path = tmp_path / "big.png"
    with open(path, "wb") as handle:
        handle.truncate(5000)  # sparse: nothing to read, only the size counts
    assert reason(path, max_bytes=4096) == "too large: 5000 bytes exceeds the file size limit of 4096 bytes"
    assert max_file_bytes(100) < max_file_bytes(1000)
    assert len(read_file(path, 5000)) == 5000


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_a_file_that_reads_longer_than_its_size_is_cut_off():
    with pytest.raises(InputError, match="more than the file size limit"):
        read_file(Path("/proc/self/status"), 10)  # st_size 0, content longer


@pytest.mark.skipif(sys.platform != "linux", reason="any bytes make a file name on Linux")
def test_non_utf8_name_reads(tmp_path):
    raw = os.path.join(os.fsencode(tmp_path), b"\xff\xfe.png")
    Image.new("RGB", (3, 2), (1, 2, 3)).save(raw.decode("utf-8", "surrogateescape"))
    image = read_image(Path(os.fsdecode(raw)))
    assert image.pixels.shape == (2, 3, 3)


def test_probe_reports_alpha_and_depth(tmp_path):
    Image.new("RGBA", (3, 2)).save(tmp_path / "a.png")
    Image.new("I;16", (3, 2)).save(tmp_path / "d.png")
    Image.new("RGB", (3, 2)).save(tmp_path / "c.jpg")
    (tmp_path / "t.png").write_text("text")
    assert probe_image(tmp_path / "a.png") == ImageProbe(alpha=True, bit_depth=8)
    assert probe_image(tmp_path / "d.png") == ImageProbe(alpha=False, bit_depth=16)
    assert probe_image(tmp_path / "c.jpg") == ImageProbe(alpha=False, bit_depth=8)
    assert probe_image(tmp_path / "t.png") is None and probe_image(tmp_path / "none.png") is None


@pytest.mark.parametrize("ext, channels", [("png", 3), ("png", 4), ("tiff", 3), ("ppm", 3), ("pgm", 1)])
def test_probe_sees_16_bits_that_pil_modes_hide(tmp_path, ext, channels):
    import cv2

    shape = (3, 4) if channels == 1 else (3, 4, channels)
    assert cv2.imwrite(str(tmp_path / f"x.{ext}"), np.full(shape, 40000, np.uint16))
    assert probe_image(tmp_path / f"x.{ext}").bit_depth == 16
    assert read_image(tmp_path / f"x.{ext}").bit_depth == 16


# --- fuzzing -------------------------------------------------------------------------------

def _seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 9, 3), dtype=np.uint8))
    out = {}
    for name, image, kwargs in (("png", rgb.convert("RGBA"), {}), ("jpg", rgb, {"quality": 80}),
                                ("bmp", rgb, {}), ("tiff", rgb, {"compression": "tiff_lzw"}),
                                ("gif", rgb.convert("P"), {}), ("webp", rgb, {})):
        buffer = io.BytesIO()
        image.save(buffer, format={"jpg": "JPEG"}.get(name, name.upper()), **kwargs)
        out[name] = buffer.getvalue()
    return out


SEEDS = _seeds()


@st.composite
def image_bytes(draw) -> tuple[str, bytes]:
    """A valid file with a few bytes flipped, a cut, a splice, or random bytes."""
    ext = draw(st.sampled_from(sorted(SEEDS) + ["random"]))
    if ext == "random":
        return "png", draw(st.binary(max_size=512))
    data = bytearray(SEEDS[ext])
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=64))
    return ext, bytes(data)


@settings(max_examples=200, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(image_bytes())
def test_fuzzed_files_fail_only_with_input_error(sample):
    ext, data = sample
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz.{ext}"
        path.write_bytes(data)
        probe_image(path)  # never raises
        try:
            image = read_image(path, max_pixels=1_000_000)
        except InputError as exc:
            assert exc.reason and len(exc.reason) < 2000
            return
        assert image.pixels.dtype in (np.uint8, np.uint16) and image.channels in (1, 3, 4)
