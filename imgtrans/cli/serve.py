"""``imgtrans serve``: the local web app (``imgtrans.web``), with bundled or already downloaded
weights and no network unless ``--allow-downloads``."""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from imgtrans.cli import app, ui

if TYPE_CHECKING:
    import socket

DEFAULT_PORT = 8765


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on; anything but loopback lets other machines use the app (no authentication).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = DEFAULT_PORT,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the app in a web browser.")] = False,
    device: Annotated[str, typer.Option(envvar="IMGTRANS_DEVICE", help="auto, cpu, cuda or cuda:N.")] = "auto",
    max_pixels: Annotated[int, typer.Option(min=1, help="Refuse uploads, and results, with more pixels than this.")] = 178_956_970,
    max_upload_mb: Annotated[float, typer.Option(min=0.001, help="Refuse uploads larger than this many MiB.")] = 64.0,
    max_video_frames: Annotated[int, typer.Option(min=0, help="Refuse video uploads with more frames than this (0: no videos).")] = 300,
    session_minutes: Annotated[float, typer.Option(min=0.1, help="Remove an idle page's files after this many minutes.")] = 30.0,
    allow_downloads: Annotated[bool, typer.Option("--allow-downloads", help="Also offer registry weights that are not downloaded yet, and fetch them when chosen (the app never uses the network otherwise).")] = False,
) -> None:
    """Run the web app: convert images and short videos, draw layouts, paint strokes for SDEdit."""
    from imgtrans.errors import UsageError

    with ui.exit_on_errors():
        missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
        if missing:
            raise UsageError(f"the web app needs {' and '.join(missing)}: "
                             "pip install 'imgtrans[web]'")
        import uvicorn

        from imgtrans.web.server import LOOPBACK_HOSTS, WebSettings, create_app

        loopback = host in LOOPBACK_HOSTS
        sock = _listen(host, port)
        address = f"[{host}]" if ":" in host else host
        url = f"http://{address}:{sock.getsockname()[1]}/"
        if not loopback:
            ui.err.print(f"warning: listening on {host}: anyone who can reach this machine can use "
                         "the app and its processor, without a password", style="yellow",
                         highlight=False)
        if not allow_downloads:  # belt and braces: no probe of a download server either
            os.environ.setdefault("IMGTRANS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        settings = WebSettings(device=device, max_pixels=max_pixels,
                               max_upload_bytes=int(max_upload_mb * (1 << 20)),
                               session_ttl=session_minutes * 60, allow_downloads=allow_downloads,
                               max_video_frames=max_video_frames)
        web = create_app(settings, allowed_hosts=LOOPBACK_HOSTS if loopback else None)
        server = uvicorn.Server(uvicorn.Config(web, log_level="warning", lifespan="on"))
        ui.out.print(f"imgtrans web app: {url}", highlight=False)
        ui.err.print("press Ctrl-C to stop", highlight=False)
        if open_browser:
            import webbrowser

            threading.Timer(0.5, webbrowser.open, args=(url,)).start()
        server.run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """Bind before anything is printed, so the address shown is one that works (and a busy
    port is one clear line, not a traceback from the server)."""
    import socket

    from imgtrans.errors import UsageError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise UsageError(f"cannot listen on {host}:{port}: {reason}; "
                         "choose another --port or --host") from None
