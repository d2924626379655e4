"""Frames/s of ``imgtrans convert`` on a video against a plain PyAV loop, side by side in one run.

    python bench/video.py --plugin srgan --weights srgan.synthetic_x4 --frames 96 --size 160x120

The clip is generated with PyAV (H.264, 4:2:0, textured moving frames, one keyframe every 24
frames, an AAC track). The plain loop is what a user would write by hand: decode each frame
to RGB, translate it alone with ``imgtrans.load(...)(frame)`` (the same translator and
weights), encode it with the same encoder and CRF as imgtrans chose (libx264, CRF 18, no
B-frames), no audio copy, no segments, no threads of its own. imgtrans adds the decoder and
encoder threads, batched forwards of consecutive frames, per-segment files and their join,
and the audio copied packet for packet.

Runs alternate (imgtrans, loop, imgtrans, loop, ...) into fresh files and the best run of
each is kept; the translator is loaded once per run in both (as a user's run does). The
machine's load average is printed before and after, since the figures are only comparable
within one run. Both outputs' first frames are compared (they differ only by the encoder's
rounding of the same pixels).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import av
import numpy as np

import imgtrans


def make_clip(path: Path, frames: int, width: int, height: int) -> None:
    """A textured clip that moves, H.264 yuv420p at 24 frames/s with an AAC track."""
    out = av.open(str(path), "w")
    video = out.add_stream("libx264", rate=24)
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    video.options = {"crf": "18", "g": "24", "keyint_min": "24", "sc_threshold": "0", "bf": "0"}
    sound = out.add_stream("aac", rate=16000)
    sound.layout = "mono"
    y, x = np.mgrid[0:height, 0:width]
    for i in range(frames):
        rgb = np.stack([(x * 3 + i * 5) % 256, (y * 2 + i * 3) % 256,
                        (128 + 100 * np.sin((x + y + i * 4) / 9)).astype(int)], -1).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = i
        for packet in video.encode(frame):
            out.mux(packet)
    for packet in video.encode():
        out.mux(packet)
    samples = int(frames / 24 * 16000)
    for start in range(0, samples, 1024):
        wave = (0.2 * np.sin(np.arange(start, start + 1024) / 7)).astype(np.float32)[None]
        af = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
        af.sample_rate, af.pts = 16000, start
        for packet in sound.encode(af):
            out.mux(packet)
    for packet in sound.encode():
        out.mux(packet)
    out.close()


def run_imgtrans(args, src: Path, dst: Path) -> float:
    start = time.perf_counter()
    report = imgtrans.convert(str(src), str(dst), plugin=args.plugin, weights=args.weights,
                              device=args.device, batch_size=args.batch_size, seed=0)
    assert report.items[0].status == "done", report.items
    return time.perf_counter() - start


def run_loop(args, src: Path, dst: Path) -> float:
    """decode -> translate one frame -> encode, on one thread."""
    start = time.perf_counter()
    model = imgtrans.load(args.plugin, args.weights, device=args.device, seed=0)
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream_in = inp.streams.video[0]
        stream = None
        for frame in inp.decode(stream_in):
            result = model(frame.to_ndarray(format="rgb24"))
            if stream is None:
                stream = out.add_stream("libx264", rate=stream_in.average_rate)
                stream.height, stream.width = result.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.time_base = stream_in.time_base
                stream.options = {"crf": "18", "bf": "0"}
            encoded = av.VideoFrame.from_ndarray(result, format="rgb24")
            encoded.pts, encoded.time_base = frame.pts, stream_in.time_base
            for packet in stream.encode(encoded):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return time.perf_counter() - start


def first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", default="srgan")
    parser.add_argument("--weights", default="srgan.synthetic_x4", help="'none' for translators without")
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--size", default="160x120", help="WIDTHxHEIGHT of the clip")
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs; best of each is kept")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.weights = None if args.weights in ("", "none") else args.weights
    import torch

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "clip.mp4"
        make_clip(src, args.frames, width, height)
        times: dict[str, list[float]] = {"imgtrans": [], "loop": []}
        for r in range(args.repeats):
            times["imgtrans"].append(run_imgtrans(args, src, root / f"imgtrans{r}.mp4"))
            times["loop"].append(run_loop(args, src, root / f"loop{r}.mp4"))
        a, b = first_frame(root / "imgtrans0.mp4"), first_frame(root / "loop0.mp4")
        difference = float(np.abs(a.astype(int) - b.astype(int)).mean())
    load_after = os.getloadavg()
    ours, loop = (args.frames / min(times[k]) for k in ("imgtrans", "loop"))
    print(f"plugin {args.plugin} ({args.weights}), {args.frames} frames {width}x{height} -> "
          f"{a.shape[1]}x{a.shape[0]}, device {args.device}, batch size {args.batch_size}, "
          f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, best of {args.repeats}")
    print(f"load average before  : {' '.join(f'{v:.2f}' for v in load_before)}")
    print(f"load average after   : {' '.join(f'{v:.2f}' for v in load_after)}")
    print(f"imgtrans convert     : {ours:8.2f} frames/s  (runs: "
          f"{', '.join(f'{t:.1f}' for t in times['imgtrans'])} s)")
    print(f"PyAV loop            : {loop:8.2f} frames/s  (runs: "
          f"{', '.join(f'{t:.1f}' for t in times['loop'])} s)")
    print(f"ratio imgtrans / loop: {ours / loop:8.2f}x   first frame mean abs difference: "
          f"{difference:.2f} levels")


if __name__ == "__main__":
    main()
