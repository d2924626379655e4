"""The web app under load, on 127.0.0.1: concurrent pages, throughput, queue fairness, and
the server's memory (RSS) before, at its peak and after.

    python bench/web_load.py [--clients 8] [--jobs 2] [--images 2] [--size 96]
                             [--translator srgan] [--big 6000] [--uploads 3] [--slots 1,3]

Each phase runs a fresh server process (``create_app`` under uvicorn, CPU, like
``imgtrans serve``) so that its peak RSS (the kernel's ``VmHWM``) belongs to that phase:

1. load: ``--clients`` pages at once, each opening a session, uploading ``--images`` images
   of ``--size`` pixels square, queueing ``--jobs`` conversions one after the other, waiting
   for each, downloading its zip (checked with ``zipfile``) and closing. Jobs run one at a
   time, first come first served: fairness is how far the finishing order strays from the
   queueing order (inversions) and how even the pages' waits are (Jain's index of their mean
   latency; 1.0 = equal).
2. uploads: ``--uploads`` pages at once each upload one ``--big`` pixels square 16-bit RGBA
   PNG (a gradient: small as a file, large when decoded), with the server decoding
   ``--slots`` at a time; the peak RSS above the idle server, per decoded pixel.

The machine's load average is printed with the figures: on a shared machine other work
slows the jobs (not the memory figures).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import cv2
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SERVER = """
import json, socket, sys
import uvicorn
from imgtrans.web.server import WebSettings, create_app
settings = WebSettings(**json.loads(sys.argv[1]))
sock = socket.create_server(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")).run(sockets=[sock])
"""


class Server:
    """A server process; ``rss()`` and ``peak()`` in MiB from /proc."""

    def __init__(self, **settings) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]))
        self.process = subprocess.Popen([sys.executable, "-c", SERVER, json.dumps({"device": "cpu", **settings})],
                                        stdout=subprocess.PIPE, text=True, env=env)
        port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "/api/catalog", timeout=30).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)

    def _status(self, key: str) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        raise KeyError(key)

    def rss(self) -> float:
        return self._status("VmRSS")

    def peak(self) -> float:
        return self._status("VmHWM")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Origin": self.url}, timeout=600)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def png(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", rgb)
    assert ok
    return data.tobytes()


def photo(size: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    base = np.stack([x * 255 // size, y * 255 // size, (x + y) * 127 // size], axis=-1)
    return png(np.clip(base + rng.integers(0, 32, base.shape), 0, 255).astype(np.uint8))


def page(server: Server, index: int, args: argparse.Namespace, record: list[dict]) -> None:
    """One page: a session, its uploads, its jobs one after the other, their zips."""
    with server.client() as client:
        sid = client.post("/api/sessions").json()["id"]
        uids = [client.post(f"/api/s/{sid}/uploads", params={"name": f"c{index}-{i}.png"},
                            content=photo(args.size, 100 * index + i)).json()["id"]
                for i in range(args.images)]
        for _ in range(args.jobs):
            submitted = time.monotonic()
            jid = client.post(f"/api/s/{sid}/jobs", json={
                "kind": "convert", "translator": args.translator, "inputs": uids}).json()["id"]
            while (job := client.get(f"/api/s/{sid}/jobs/{jid}").json())["state"] in ("queued", "running"):
                time.sleep(0.1)
            finished = time.monotonic()
            archive = client.get(f"/api/s/{sid}/jobs/{jid}/zip")
            with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
                complete = z.testzip() is None and len(z.namelist()) == args.images
            record.append({"client": index, "submitted": submitted, "finished": finished,
                           "run": job["seconds"], "state": job["state"], "zip_ok": complete})
        client.post(f"/api/s/{sid}/close")


def load_phase(args: argparse.Namespace) -> None:
    server = Server()
    try:
        idle = server.rss()
        record: list[dict] = []
        start = time.monotonic()
        threads = [threading.Thread(target=page, args=(server, i, args, record)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - start
        time.sleep(1.0)
        after, peak = server.rss(), server.peak()
    finally:
        server.stop()
    jobs = sorted(record, key=lambda r: r["submitted"])
    finished_order = [r["finished"] for r in jobs]
    inversions = sum(1 for i in range(len(jobs)) for j in range(i + 1, len(jobs))
                     if finished_order[j] < finished_order[i])
    waits = [r["finished"] - r["submitted"] - r["run"] for r in jobs]
    per_client = [statistics.mean(r["finished"] - r["submitted"] for r in jobs if r["client"] == c)
                  for c in range(args.clients)]
    jain = sum(per_client) ** 2 / (len(per_client) * sum(x * x for x in per_client))
    ok = sum(r["state"] == "done" and r["zip_ok"] for r in jobs)
    images = ok * args.images
    print(f"load: {args.clients} pages x {args.jobs} jobs x {args.images} images of {args.size}x{args.size}, "
          f"{args.translator}; {ok}/{len(jobs)} jobs done with complete zips")
    print(f"  throughput     : {len(jobs) / wall:.2f} jobs/s, {images / wall:.2f} images/s "
          f"({wall:.1f} s wall; mean run {statistics.mean(r['run'] for r in jobs):.2f} s/job)")
    print(f"  fairness       : {inversions} order inversions of {len(jobs) * (len(jobs) - 1) // 2} pairs; "
          f"queue wait median {statistics.median(waits):.1f} s, max {max(waits):.1f} s; "
          f"Jain index of page latencies {jain:.3f}")
    print(f"  server RSS     : idle {idle:.0f} MiB, peak {peak:.0f} MiB, after {after:.0f} MiB")


def upload_phase(args: argparse.Namespace, slots: int) -> None:
    side = args.big
    y, x = np.mgrid[0:side, 0:side].astype(np.uint32)
    rgba = np.stack([x * 65535 // side, y * 65535 // side, (x + y) * 32767 // side,
                     np.full_like(x, 65535)], axis=-1).astype(np.uint16)
    data = png(rgba)
    del x, y, rgba
    server = Server(decode_slots=slots, max_pixels=side * side, max_upload_bytes=len(data) + 1)
    try:
        idle = server.rss()
        codes: list[int] = []

        def send(i: int) -> None:
            with server.client() as client:
                sid = client.post("/api/sessions").json()["id"]
                codes.append(client.post(f"/api/s/{sid}/uploads", params={"name": f"big{i}.png"},
                                         content=data).status_code)

        start = time.monotonic()
        threads = [threading.Thread(target=send, args=(i,)) for i in range(args.uploads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - start
        peak = server.peak()
    finally:
        server.stop()
    pixels = side * side
    print(f"uploads: {args.uploads} at once of {side}x{side} 16-bit RGBA ({len(data) / 2**20:.1f} MiB PNG, "
          f"{pixels * 8 / 2**20:.0f} MiB decoded), {slots} decode slot(s): replies {sorted(codes)}, {wall:.1f} s")
    print(f"  server RSS     : idle {idle:.0f} MiB, peak {peak:.0f} MiB: +{peak - idle:.0f} MiB, "
          f"{(peak - idle) * 2**20 / pixels:.1f} bytes per decoded pixel of one upload")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--translator", default="srgan")
    parser.add_argument("--big", type=int, default=6000)
    parser.add_argument("--uploads", type=int, default=3)
    parser.add_argument("--slots", default="1,3", help="decode slots to compare, comma-separated")
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"({os.cpu_count()} CPUs; other work on this machine slows the jobs, not the memory figures)")
    if not args.skip_load:
        load_phase(args)
    for slots in (int(s) for s in args.slots.split(",") if s):
        upload_phase(args, slots)
    print(f"load average after : {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
