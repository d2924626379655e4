"""Frames/s of ``imgtrans convert`` on a video against its own image pipeline on the same frames
and against a plain PyAV loop, side by side in one run.

    python bench/video.py --plugin srgan --weights srgan.synthetic_x4 --frames 96 --size 160x120
    python bench/video.py --compare images --frames 48 --size 96x64     # only video vs images

``--compare images``: the clip's frames are decoded to PNG files in a folder beforehand (not
timed) and ``imgtrans.convert(frames_folder, out_folder, ...)`` is timed against
``imgtrans.convert(clip, out.mp4, ...)`` with the same translator, weights and batch size;
the "video overhead" is how much slower the video run is per frame (target: at most 10 %).
What the video side does on top: decoding H.264 (the image side decodes PNGs instead),
encoding H.264 instead of writing PNGs, timestamps, segments and their join, the audio copy.

``--compare loop``: the plain loop a user would write by hand: decode each frame to RGB,
translate it alone with ``imgtrans.load(...)(frame)`` (the same translator and weights),
encode it with the same encoder and CRF as imgtrans chose (libx264, CRF 18, no B-frames),
no audio copy, no segments, no threads of its own (so its forwards run on the main thread,
which glibc's main malloc arena can make several times slower: bench/RESULTS.md, "Video").
imgtrans adds the decoder and encoder threads, batched forwards of consecutive frames on a
translator thread, per-segment files and their join, and the audio copied packet for packet.
``--compare frames``: ``imgtrans.convert(clip, folder)``, the same video run writing numbered
PNG frames instead of encoding H.264: against ``images`` it is the video path's own overhead
(decoding, the threads, timestamps), without the encoder, whose cost depends only on the
codec and CRF chosen (libx264 at CRF 18 takes about 3x a PNG write per 1280x960 frame).
``--compare ray``: the same video run on ``--engine ray`` (a local Ray instance started and
stopped by each run, whose start-up counts; segments converted by one actor). The first
three comparisons run by default (``--compare images,frames,loop``).

The clip is generated with PyAV (H.264, 4:2:0, textured moving frames, one keyframe every 24
frames, an AAC track). Runs alternate (video, images, loop, then the order rotates) into
fresh files and the best run of each is kept; the translator is loaded once per run on
every side (as a user's run does). The machine's load average is printed before and after,
since the figures are only comparable within one run. The first frames of the outputs are
compared: the loop's differ from the video's only by the encoder's rounding of the same
pixels; the image pipeline's PNG is compared with the video's decoded (H.264) frame.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

import imgtrans

COMPARISONS = ("images", "frames", "loop", "ray")
DEFAULT = ("images", "frames", "loop")

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


def run_imgtrans(args, src: Path, dst: Path, engine: str = "local") -> float:
    start = time.perf_counter()
    report = imgtrans.convert(str(src), str(dst), plugin=args.plugin, weights=args.weights,
                              device=args.device, batch_size=args.batch_size, seed=0, engine=engine)
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


def decode_frames(src: Path, folder: Path) -> int:
    """The clip's frames as ``frame_000000.png``... (RGB, 8-bit): the image side's input."""
    folder.mkdir()
    count = 0
    with av.open(str(src)) as container:
        for count, frame in enumerate(container.decode(video=0), 1):
            frame.to_image().save(folder / f"frame_{count - 1:06d}.png")
    return count


def run_images(args, frames: Path, dst: Path) -> float:
    start = time.perf_counter()
    report = imgtrans.convert(str(frames), str(dst), plugin=args.plugin, weights=args.weights,
                              device=args.device, batch_size=args.batch_size, seed=0)
    assert report.count("done") == args.frames, report.summary()
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
    parser.add_argument("--compare", default=",".join(DEFAULT),
                        help="what the video run is compared with, comma-separated: images (imgtrans "
                             "convert on the decoded frames as PNG files), frames (the clip converted "
                             "to numbered PNG frames: no encoder), loop (a plain PyAV loop), ray (the "
                             "same convert with --engine ray on a local Ray instance, its start-up included)")
    args = parser.parse_args()
    compare = [c.strip() for c in args.compare.split(",") if c.strip()]
    unknown = set(compare) - set(COMPARISONS)
    if unknown or not compare:
        parser.error(f"--compare: choose from {', '.join(COMPARISONS)} (got {args.compare!r})")
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.weights = None if args.weights in ("", "none") else args.weights
    import torch

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "clip.mp4"
        make_clip(src, args.frames, width, height)
        if "images" in compare:
            decoded = decode_frames(src, root / "frames")
            assert decoded == args.frames, f"decoded {decoded} frames of {args.frames}"
        sides = {"video": lambda r: run_imgtrans(args, src, root / f"imgtrans{r}.mp4"),
                 "images": lambda r: run_images(args, root / "frames", root / f"images{r}"),
                 "frames": lambda r: run_imgtrans(args, src, root / f"video-frames{r}"),
                 "ray": lambda r: run_imgtrans(args, src, root / f"ray{r}.mp4", engine="ray"),
                 "loop": lambda r: run_loop(args, src, root / f"loop{r}.mp4")}
        sides = {k: v for k, v in sides.items() if k == "video" or k in compare}
        times: dict[str, list[float]] = {k: [] for k in sides}
        names = list(sides)
        for r in range(args.repeats):  # alternating, the order rotating each round
            for name in names[r % len(names):] + names[:r % len(names)]:
                times[name].append(sides[name](r))
        a = first_frame(root / "imgtrans0.mp4")
        differences = {}
        if "loop" in times:
            differences["PyAV loop's first frame"] = first_frame(root / "loop0.mp4")
        same_bytes = None
        if "ray" in times:
            same_bytes = (root / "ray0.mp4").read_bytes() == (root / "imgtrans0.mp4").read_bytes()
        if "images" in times:
            png = sorted((root / "images0").glob("*.png"))[0]
            differences["image pipeline's first frame"] = np.asarray(Image.open(png).convert("RGB"))
    load_after = os.getloadavg()
    rate = {k: args.frames / min(t) for k, t in times.items()}
    print(f"plugin {args.plugin} ({args.weights}), {args.frames} frames {width}x{height} -> "
          f"{a.shape[1]}x{a.shape[0]}, device {args.device}, batch size {args.batch_size}, "
          f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, best of {args.repeats}")
    print(f"load average before  : {' '.join(f'{v:.2f}' for v in load_before)}")
    print(f"load average after   : {' '.join(f'{v:.2f}' for v in load_after)}")
    labels = {"video": "imgtrans convert clip", "images": "imgtrans convert PNGs",
              "frames": "clip to PNG frames", "loop": "PyAV loop", "ray": "--engine ray"}
    for k in times:
        print(f"{labels[k]:<21}: {rate[k]:8.2f} frames/s  (runs: {', '.join(f'{t:.1f}' for t in times[k])} s)")
    if "images" in rate:
        overhead = rate["images"] / rate["video"] - 1
        print(f"video overhead       : {100 * overhead:+7.1f} %  (seconds per frame, video vs images; "
              f"target at most +10 %: {'met' if overhead <= 0.10 else 'NOT met'})")
    if "images" in rate and "frames" in rate:
        overhead = rate["images"] / rate["frames"] - 1
        print(f"without the encoder  : {100 * overhead:+7.1f} %  (clip to PNG frames vs PNGs to PNGs: "
              f"decoding, threads, timestamps; target at most +10 %: {'met' if overhead <= 0.10 else 'NOT met'})")
    if "ray" in rate:
        print(f"ratio ray / local    : {rate['ray'] / rate['video']:8.2f}x  (Ray's start-up included); "
              f"the files are {'identical' if same_bytes else 'NOT identical'}")
    if "loop" in rate:
        print(f"ratio imgtrans / loop: {rate['video'] / rate['loop']:8.2f}x")
    for label, b in differences.items():
        print(f"{label} vs video's: mean abs difference "
              f"{float(np.abs(a.astype(int) - b.astype(int)).mean()):.2f} levels")


if __name__ == "__main__":
    main()
