"""``--color srgb``: inputs converted from their ICC profile to sRGB with littleCMS before the
network, and their outputs tagged sRGB.

8-bit images go through Pillow's ``ImageCms``. Pillow has no 16-bit RGB images, so 16-bit
ones are converted by the same littleCMS library (the one Pillow ships, else the system's)
called through ctypes with 16-bit formats: no precision is lost on the way. CMYK inputs are
decoded again by Pillow (OpenCV's decoder has already made naive RGB of them) and converted
with their profile; a CMYK input without one is refused (its colours depend on a press
profile nobody named). Other inputs without a profile are taken as sRGB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import io
import warnings
from pathlib import Path

import numpy as np

from imgtrans.core.metadata import ImageMetadata
from imgtrans.core.readers import DecodedImage
from imgtrans.errors import InputError

_PERCEPTUAL = 0
_COPY_ALPHA = 0x04000000
_NO_OPTIMIZE = 0x0100  # the precalculated 16-bit lattice strays by up to 7 levels out of gamut
# littleCMS pixel formats: COLORSPACE_SH(pt) | EXTRA_SH(e) | CHANNELS_SH(c) | BYTES_SH(2)
_FORMATS = {1: (3 << 16) | (1 << 3) | 2, 3: (4 << 16) | (3 << 3) | 2,
            4: (4 << 16) | (1 << 7) | (3 << 3) | 2}
_RGB_16 = _FORMATS[3]


@functools.lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def to_srgb(image: DecodedImage, source: Path) -> DecodedImage:
    """``image`` (with its ``metadata``) in sRGB; its metadata then carries the sRGB profile.
    Raises :class:`InputError` for what cannot be converted faithfully."""
    meta = image.metadata or ImageMetadata()
    space = meta.icc_space
    if space == "CMYK":
        pixels = _cmyk_to_srgb(source, meta.icc, meta.orientation_applied)
    elif space is None and _stored_as_cmyk(source):
        raise InputError(source, "--color srgb: a CMYK image without an ICC profile: its "
                                 "colours are undefined (convert it to RGB with its press "
                                 "profile first, or use --color keep for a plain conversion)")
    elif space is None or meta.icc == srgb_profile():
        pixels = image.pixels  # no profile: taken as sRGB
    elif space in ("RGB", "GRAY"):
        if space == "GRAY" and image.channels != 1 or space == "RGB" and image.channels == 1:
            raise InputError(source, f"a {space} ICC profile on a "
                                     f"{'gray' if image.channels == 1 else 'colour'} image: "
                                     "cannot convert to sRGB (use --color keep)")
        convert = _convert_16 if image.bit_depth == 16 else _convert_8
        pixels = convert(image.pixels, meta.icc)
    else:
        raise InputError(source, f"--color srgb: cannot convert from a {space} ICC profile")
    colour = pixels.ndim == 3
    meta.icc = srgb_profile() if colour else None
    return DecodedImage(np.ascontiguousarray(pixels), image.bit_depth, image.format, meta)


def _profile(icc: bytes):
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(io.BytesIO(icc))


def _convert_8(pixels: np.ndarray, icc: bytes) -> np.ndarray:
    from PIL import Image, ImageCms

    alpha = pixels[..., 3] if pixels.ndim == 3 and pixels.shape[2] == 4 else None
    mode = "L" if pixels.ndim == 2 else "RGB"
    source = Image.fromarray(pixels if alpha is None else pixels[..., :3], mode)
    result = ImageCms.profileToProfile(source, _profile(icc), ImageCms.createProfile("sRGB"),
                                       renderingIntent=ImageCms.Intent.PERCEPTUAL,
                                       outputMode="RGB")
    out = np.asarray(result)
    return out if alpha is None else np.dstack([out, alpha])


@functools.lru_cache(maxsize=1)
def _lcms() -> ctypes.CDLL:
    """The littleCMS that Pillow ships (the same one ``ImageCms`` uses), else the system's."""
    import PIL

    here = Path(PIL.__file__).resolve().parent
    candidates = sorted(glob.glob(str(here.parent / "pillow.libs" / "liblcms2*")))
    candidates += sorted(glob.glob(str(here.parent / "Pillow.libs" / "liblcms2*")))
    system = ctypes.util.find_library("lcms2")
    candidates += [system] if system else []
    for candidate in candidates:
        try:
            lib = ctypes.CDLL(candidate)
        except OSError:
            continue
        lib.cmsOpenProfileFromMem.restype = ctypes.c_void_p
        lib.cmsOpenProfileFromMem.argtypes = [ctypes.c_char_p, ctypes.c_uint32]
        lib.cmsCreateTransform.restype = ctypes.c_void_p
        lib.cmsCreateTransform.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p,
                                           ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32]
        lib.cmsDoTransform.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_uint32]
        lib.cmsDeleteTransform.argtypes = [ctypes.c_void_p]
        lib.cmsCloseProfile.argtypes = [ctypes.c_void_p]
        return lib
    raise OSError("littleCMS (liblcms2) not found: 16-bit colour conversion needs it")


def _convert_16(pixels: np.ndarray, icc: bytes) -> np.ndarray:
    """16-bit gray, RGB or RGBA (alpha copied) through littleCMS with 16-bit formats; gray
    becomes RGB."""
    lib = _lcms()
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    source = lib.cmsOpenProfileFromMem(icc, len(icc))
    target_icc = srgb_profile()
    target = lib.cmsOpenProfileFromMem(target_icc, len(target_icc))
    out_format = _FORMATS[4] if channels == 4 else _RGB_16
    try:
        if not source or not target:
            raise ValueError("littleCMS cannot read the ICC profile")
        transform = lib.cmsCreateTransform(source, _FORMATS[channels], target, out_format,
                                           _PERCEPTUAL,
                                           _NO_OPTIMIZE | (_COPY_ALPHA if channels == 4 else 0))
        if not transform:
            raise ValueError("littleCMS cannot convert with this ICC profile")
        try:
            src = np.ascontiguousarray(pixels, dtype=np.uint16)
            out = np.empty(pixels.shape[:2] + (4 if channels == 4 else 3,), np.uint16)
            rows = max(1, (1 << 22) // max(1, pixels.shape[1]))  # about 4 M pixels a call
            for start in range(0, pixels.shape[0], rows):
                part, dest = src[start:start + rows], out[start:start + rows]
                lib.cmsDoTransform(transform, part.ctypes.data, dest.ctypes.data,
                                   part.shape[0] * part.shape[1])
            return out
        finally:
            lib.cmsDeleteTransform(transform)
    finally:
        for handle in (source, target):
            if handle:
                lib.cmsCloseProfile(handle)


def _stored_as_cmyk(source: Path) -> bool:
    """Whether ``source``'s pixels are CMYK (from its header; False when unreadable)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(source) as im:
                return im.mode == "CMYK"
    except Exception:
        return False


def _cmyk_to_srgb(source: Path, icc: bytes, upright: bool) -> np.ndarray:
    from PIL import Image, ImageCms, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(source) as im:
            if im.mode != "CMYK":
                raise InputError(source, f"a CMYK ICC profile on a {im.mode} image")
            if upright:
                im = ImageOps.exif_transpose(im)
            result = ImageCms.profileToProfile(im, _profile(icc), ImageCms.createProfile("sRGB"),
                                               renderingIntent=ImageCms.Intent.PERCEPTUAL,
                                               outputMode="RGB")
    return np.asarray(result)


__all__ = ["srgb_profile", "to_srgb"]
