"""imgtrans against Real-ESRGAN's ``inference_realesrgan_video.py`` on one clip: frames/s and
peak memory, each side in a fresh process.

    .venv/bin/pip install psutil ffmpeg-python imageio-ffmpeg   # bench only; and a system ffprobe
    python bench/reference_video.py --reference CHECKOUT --frames 24 --size 64x48

CHECKOUT is a checkout of xinntao/Real-ESRGAN (its inference_realesrgan_video.py and
realesrgan/ are used; nothing of it is copied here).

Clip: bench/video.py's (H.264 yuv420p, 24 frames/s, a keyframe every 24 frames, an AAC
track). Network: RRDBNet x4 of RealESRGAN_x4plus's size with random weights
(bench/reference_sr.py's ``write_weights``), saved as ``weights/RealESRGAN_x4plus.pth`` in
the reference's working folder: the video script takes no weights path, only ``-n NAME``.

Reference side: ``python inference_realesrgan_video.py -i clip.mp4 -o OUT -n RealESRGAN_x4plus
-s 4 -t 0 --pre_pad 0 --fp32`` (its defaults: tile 0, pre_pad 0; ``--fp32`` since half
precision is for GPUs). Its loop: ``ffprobe`` for the size, rate and frame count, an
``ffmpeg`` decoder process piping raw BGR frames, ``RealESRGANer.enhance`` one frame at a
time, an ``ffmpeg`` encoder process fed raw frames: libx264, yuv420p, FFmpeg's defaults
(CRF 23, preset medium, B-frames on), audio copied. It runs through a ``-c`` launcher that
installs bench/reference_stubs.py's stand-ins first (BasicSR does not import beside this
torch: ``RRDBNet`` is imgtrans' own under BasicSR's names and keys; ``realesrgan``'s
``__init__`` that imports its training code is skipped), makes ``torch.load`` weights-only,
and lets the script run on a CPU: it sizes its process pool by ``torch.cuda.device_count()``
(0 here: ``Pool(0)`` raises) and calls ``torch.cuda.synchronize`` after each frame, so the
launcher reports one device and makes synchronize a no-op; the network runs on the CPU
(``RealESRGANer`` picks "cpu" when CUDA is not available). ``ffmpeg`` is imageio-ffmpeg's
binary (a symlink named ``ffmpeg`` in a folder put first on the reference's PATH;
``--ffmpeg`` to choose another); ``ffprobe`` must be on PATH (imageio-ffmpeg has none;
Debian: ``apt-get install ffmpeg``).

imgtrans side: ``imgtrans convert clip.mp4 out.mp4 --plugin srgan --weights W --opt pre_pad=0
--tile 0 --precision exact --crf CRF`` (``--crf`` default 23, the reference encoder's; imgtrans
encodes libx264 without B-frames, the input's pixel format, and copies the audio).

Both sides: ``--threads`` OpenMP threads, one untimed run each on a 4-frame clip first (file
and bytecode caches), then ``--repeats`` alternating runs; the best wall time of each
counts. frames/s = frames / wall seconds of the whole process (start-up, model build and
load, decoding, the network, encoding). Peak memory: the process tree's resident memory
(the Python process plus its children, e.g. the reference's ffmpeg processes), summed over
the tree with psutil every 50 ms; the largest peak is reported, with the largest single
process's exact peak (``os.wait4``'s ``ru_maxrss``, which covers the process and its waited
children) beside it. Both outputs' first frames are compared (8-bit levels, RGB).

The reference runs its network on the main thread, imgtrans on a translator thread; with
glibc, the same forwards can run several times slower on the main thread (its malloc arena
hands big tensors memory from the heap, not fresh mappings: see bench/RESULTS.md). To
measure the loops without that, give both sides ``--env MALLOC_MMAP_THRESHOLD_=131072``
(big allocations always mapped, on every thread).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_sr import write_weights  # noqa: E402  (bench/ is not a package)
from side_by_side import check_checkout, load_average, print_header  # noqa: E402
from video import first_frame, make_clip  # noqa: E402

# ``python inference_realesrgan_video.py ARGV`` with the stand-ins installed first.
LAUNCHER = """
import importlib, runpy, sys
bench, checkout, *argv = sys.argv[1:]
sys.path.insert(0, bench)
import torch, reference_stubs
from side_by_side import weights_only_loading
from imgtrans_srgan.archs import RRDBNet
reference_stubs.install_basicsr(RRDBNet)
reference_stubs.bare_package("realesrgan", checkout + "/realesrgan")
reference_stubs.bare_package("realesrgan.archs", checkout + "/realesrgan/archs")
sys.path[0] = checkout
sys.modules["realesrgan"].RealESRGANer = importlib.import_module("realesrgan.utils").RealESRGANer
torch.cuda.device_count = lambda: 1          # CPU: one process, not Pool(0)
torch.cuda.synchronize = lambda device=None: None
script = checkout + "/inference_realesrgan_video.py"
sys.argv = [script, *argv]
with weights_only_loading():
    runpy.run_path(script, run_name="__main__")
"""


@dataclass
class Run:
    seconds: float
    peak_tree: int
    """bytes: the largest sum of RSS over the process and its descendants, sampled"""
    peak_process: int
    """bytes: the largest single process's peak RSS (wait4)"""
    cpu: float


def measured(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Run:
    """Run ``command`` to its end, sampling its process tree's RSS every 50 ms."""
    import psutil

    with open(log, "wb") as sink:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        root = psutil.Process(process.pid)
        peak = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            peak = max(peak, total)
            time.sleep(0.05)
        seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command[:4])} ... failed:\n{log.read_text(errors='replace')[-4000:]}")
    return Run(seconds, peak, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime)


def reference_run(checkout: Path, clip: Path, work: Path, env: dict[str, str]) -> tuple[Run, Path]:
    """The reference script on ``clip`` in ``work`` (which holds weights/); its output file."""
    out = work / f"out-{time.monotonic_ns()}"
    argv = ["-i", str(clip), "-o", str(out), "-n", "RealESRGAN_x4plus", "-s", "4", "-t", "0",
            "--pre_pad", "0", "--fp32"]
    command = [sys.executable, "-c", LAUNCHER, str(Path(__file__).resolve().parent), str(checkout), *argv]
    run = measured(command, work, env, work / f"{out.name}.log")
    return run, out / f"{clip.stem}_out.mp4"


def imgtrans_run(weights: Path, clip: Path, out: Path, crf: int, env: dict[str, str]) -> tuple[Run, Path]:
    script = Path(sys.executable).with_name("imgtrans")
    command = [str(script), "convert", str(clip), str(out), "--plugin", "srgan", "--weights", str(weights),
               "--opt", "pre_pad=0", "--tile", "0", "--precision", "exact", "--seed", "0",
               "--crf", str(crf), "--device", "cpu", "--progress", "none"]
    return measured(command, out.parent, env, out.with_suffix(".log")), out


def ffmpeg_folder(ffmpeg: str | None, root: Path) -> Path:
    """A folder holding ``ffmpeg`` (a symlink to ``ffmpeg`` or imageio-ffmpeg's binary)."""
    if ffmpeg is None:
        import imageio_ffmpeg

        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    folder = root / "bin"
    folder.mkdir()
    (folder / "ffmpeg").symlink_to(Path(ffmpeg).resolve())
    return folder


def video_facts(path: Path) -> tuple[int, str]:
    """(frames, encoder settings as FFmpeg's x264 wrote them, shortened) of ``path``."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return count, f"{stream.codec_context.name} {stream.codec_context.pix_fmt}"


def x264_settings(path: Path) -> str:
    """crf, bframes and preset-like fields of the x264 SEI string in ``path``."""
    data = path.read_bytes()
    start = data.find(b"x264 - core")
    if start < 0:
        return "(no x264 string)"
    text = data[start:start + 2000].split(b"\x00", 1)[0].decode("ascii", "replace")
    fields = dict(f.split("=", 1) for f in text.split() if "=" in f)
    return " ".join(f"{k}={fields[k]}" for k in ("crf", "bframes", "subme", "ref", "me", "threads") if k in fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="checkout of xinntao/Real-ESRGAN")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--size", default="64x48", help="WIDTHxHEIGHT of the clip")
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs per side; best of each")
    parser.add_argument("--threads", type=int, default=2, help="OpenMP threads of both sides")
    parser.add_argument("--crf", type=int, default=23, help="imgtrans' --crf (the reference encodes with "
                                                            "FFmpeg's libx264 default, 23)")
    parser.add_argument("--ffmpeg", help="the ffmpeg binary of the reference (default: imageio-ffmpeg's)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="an environment variable for both sides (repeatable), e.g. "
                             "MALLOC_MMAP_THRESHOLD_=131072")
    args = parser.parse_args()
    checkout = check_checkout(args.reference, "inference_realesrgan_video.py", "realesrgan/utils.py")
    if shutil.which("ffprobe") is None:
        raise SystemExit("the reference needs ffprobe on PATH (apt-get install ffmpeg)")
    width, height = (int(v) for v in args.size.lower().split("x"))
    print_header(args.threads, f"RRDBNet x4 (RealESRGAN_x4plus size), random weights; {args.frames} frames "
                 f"{width}x{height} -> {4 * width}x{4 * height}, tile 0, pre_pad 0, fp32; fresh processes, "
                 f"best of {args.repeats} alternating runs")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip, warm = root / "clip.mp4", root / "warm.mp4"
        make_clip(clip, args.frames, width, height)
        make_clip(warm, 4, width, height)
        (root / "weights").mkdir()
        weights = write_weights(root / "weights" / "RealESRGAN_x4plus.pth", first_frame(clip))
        folder = ffmpeg_folder(args.ffmpeg, root)
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PATH": f"{folder}:{os.environ['PATH']}",
               **dict(item.split("=", 1) for item in args.env)}
        ffmpeg_version = subprocess.run(["ffmpeg", "-version"], env=env, capture_output=True,
                                        text=True).stdout.split("\n", 1)[0]
        ffprobe_version = subprocess.run(["ffprobe", "-version"], env=env, capture_output=True,
                                         text=True).stdout.split("\n", 1)[0]
        sides = {"reference": lambda c, r: reference_run(checkout, c, root, env),
                 "imgtrans": lambda c, r: imgtrans_run(weights, c, root / f"imgtrans-{r}.mp4", args.crf, env)}
        for name, side in sides.items():  # untimed: caches
            side(warm, f"warm-{name}")
        runs: dict[str, list[Run]] = {name: [] for name in sides}
        outputs: dict[str, Path] = {}
        names = list(sides)
        for r in range(args.repeats):
            for name in names[r % 2:] + names[:r % 2]:
                run, outputs[name] = sides[name](clip, str(r))
                runs[name].append(run)
                print(f"  round {r + 1}/{args.repeats} {name}: {run.seconds:.2f} s", file=sys.stderr, flush=True)
        facts = {name: (*video_facts(path), x264_settings(path)) for name, path in outputs.items()}
        a, b = (first_frame(outputs[k]) for k in ("imgtrans", "reference"))
        difference = float(np.abs(a.astype(int) - b.astype(int)).mean())
    print(f"reference ffmpeg: {ffmpeg_version}; ffprobe: {ffprobe_version}"
          + (f"; environment: {' '.join(args.env)}" if args.env else ""))
    mib = 1 / 2 ** 20
    best = {name: min(rs, key=lambda run: run.seconds) for name, rs in runs.items()}
    for name, label in (("reference", "inference_realesrgan_video.py"), ("imgtrans", "imgtrans convert")):
        run = best[name]
        print(f"{label:<30} {args.frames / run.seconds:7.3f} frames/s   wall {run.seconds:6.1f} s   "
              f"(runs {', '.join(f'{x.seconds:.1f}' for x in runs[name])} s)   CPU {run.cpu:6.1f} s   "
              f"peak RSS tree {max(x.peak_tree for x in runs[name]) * mib:6.0f} MiB, largest process "
              f"{max(x.peak_process for x in runs[name]) * mib:6.0f} MiB")
        frames, codec, x264 = facts[name]
        print(f"{'':<30} output: {frames} frames, {codec}, {x264}")
    ratio = best["reference"].seconds / best["imgtrans"].seconds
    print(f"ratio imgtrans / reference frames/s: {ratio:.2f}x (target >= 1.0: {'met' if ratio >= 1 else 'NOT met'})")
    print(f"first frames: mean abs difference {difference:.2f} levels (RGB)")
    print(f"load average at the end {load_average()}")


if __name__ == "__main__":
    main()
