"""The demo's video: ``samples/video/street.mp4``, a camera panning along a street of day
facades (the synthetic scenes of ``make_gan_datasets.py`` that the bundled
``cyclegan.day2night_synth`` model was trained on), for ``imgtrans demo``'s video row.

    python samples/make_video_sample.py [OUT_FILE]

Three 64-pixel facades side by side make a 192 x 64 street; a 96 x 64 window pans 3 pixels
a frame over it: 32 frames at 24 frames/s (1.33 s), H.264 (libx264, CRF 18, yuv420p, one
thread, no B-frames, one keyframe), written with PyAV (``pip install 'imgtrans[video]'``).
The pixels are fixed by the seed; the file is the same for the same x264 build.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_gan_datasets import random_scene, render  # noqa: E402

FRAMES, WIDTH, HEIGHT, STEP, RATE, SEED = 32, 96, 64, 3, 24, 7


def street(seed: int = SEED, houses: int = 3, size: int = HEIGHT) -> np.ndarray:
    """``houses`` day facades of ``size`` pixels side by side, RGB uint8 (size, houses*size, 3)."""
    rng = np.random.default_rng(seed)
    return np.concatenate([render(random_scene(rng, size), rng) for _ in range(houses)], axis=1)


def make_clip(path: Path) -> None:
    import av

    scene = street()
    assert (FRAMES - 1) * STEP + WIDTH <= scene.shape[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "18", "threads": "1", "bf": "0", "g": str(FRAMES)}
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(scene[:, i * STEP:i * STEP + WIDTH]),
                                               format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?",
                        default=Path(__file__).resolve().parent / "video" / "street.mp4")
    args = parser.parse_args()
    make_clip(args.out)
    print(f"{args.out}: {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
