"""Receiving an upload: the body streamed to the session's folder within the byte limits,
then decoded by imgtrans's reader, what is refused here would fail in ``convert`` too.

Memory: the body is written as it arrives (never held), and decoding, which is where an
image of allowed size becomes large (a 1.4 MB PNG of 13,300 x 13,300 16-bit RGBA pixels
decodes to 1.4 GB and peaks at about twice that with its preview), happens for at most
``slots`` uploads at a time; the others wait their turn without holding a thread. Bytes of an
upload still arriving count against the session's limit, and a client that goes away
mid-upload leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from imgtrans.errors import InputError
from imgtrans.web.jobs import Session, Upload, new_id

log = logging.getLogger(__name__)


class Receiver:
    """Uploads of every session of one server, decoded at most ``slots`` at a time."""

    def __init__(self, *, max_pixels: int, upload_limit: int, session_limit: int,
                 max_uploads: int, slots: int = 1, max_video_frames: int = 0) -> None:
        self.max_pixels, self.upload_limit = max_pixels, upload_limit
        self.max_video_frames = max_video_frames
        self.session_limit, self.max_uploads = session_limit, max_uploads
        self.slots = slots
        self._gate: asyncio.Semaphore | None = None
        self.decoding = 0
        self.most_decoding = 0
        """How many decodes ran at once, at most (the tests check the budget with it)."""

    async def receive(self, request: Request, session: Session, name: str) -> Upload | None:
        """Stream, check and decode one upload into ``session``; None when the client went
        away (nothing is kept). Refusals raise ``HTTPException`` with one line."""
        room = self.session_limit - session.held_bytes
        if len(session.uploads) + len(session.receiving) >= self.max_uploads or room <= 0:
            raise HTTPException(409, f"{name}: this page holds {len(session.uploads)} uploads "
                                     f"({session.held_bytes} bytes) already; reload it to start afresh")
        limit = min(self.upload_limit, room)
        too_large = HTTPException(413, f"{name}: too large: more than the upload limit of {limit} bytes")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        uid = new_id()
        part = session.folder / "uploads" / f"{uid}.part"
        session.receiving[uid] = 0
        try:
            size = await self._stream(request, session, uid, part, limit)
        except ClientDisconnect:
            log.debug("upload %s aborted by the client after %d bytes", name,
                      session.receiving.get(uid, 0))
            part.unlink(missing_ok=True)
            return None
        except OSError as exc:  # the disk is full, or the page was closed meanwhile
            part.unlink(missing_ok=True)
            raise HTTPException(503, f"{name}: cannot be stored: {exc.strerror or exc}") from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        finally:
            session.receiving.pop(uid, None)
        if size is None:
            part.unlink(missing_ok=True)
            raise too_large
        try:
            async with self._slot():
                upload = await run_in_threadpool(self._decode, part, uid, name)
        except (InputError, ValueError) as exc:  # ValueError: no PNG can show these pixels
            part.unlink(missing_ok=True)
            raise HTTPException(400, f"{name}: {getattr(exc, 'reason', exc)}") from None
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise HTTPException(503, f"{name}: cannot be stored: {exc.strerror or exc}") from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        session.uploads[uid] = upload
        session.upload_bytes += size
        return upload

    async def _stream(self, request: Request, session: Session, uid: str, part: Path,
                      limit: int) -> int | None:
        """Write the body to ``part``; its size, or None past ``limit`` or past the session's
        room (other uploads of the session may be arriving at the same time)."""
        size = 0
        with open(part, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                session.receiving[uid] = size
                if size > limit or session.held_bytes > self.session_limit:
                    return None
                handle.write(chunk)
        return size

    def _slot(self) -> "_Slot":
        if self._gate is None:  # made on the server's event loop
            self._gate = asyncio.Semaphore(self.slots)
        return _Slot(self, self._gate)

    def _decode(self, part: Path, uid: str, name: str) -> Upload:
        from imgtrans.api import decode_image, is_video, write_image_atomic

        if is_video(part):
            return self._video(part, uid, name)
        decoded = decode_image(part, max_pixels=self.max_pixels, max_bytes=self.upload_limit)
        path = part.with_name(f"{uid}.{decoded.format}")  # the canonical kind: .part is no image
        part.rename(path)
        preview = part.with_name(f"{uid}.preview.png")
        try:
            write_image_atomic(preview, decoded.pixels, "png")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Upload(uid, name, path, preview, decoded.width, decoded.height, made_by(path))


    def _video(self, part: Path, uid: str, name: str) -> Upload:
        """A short clip (at most ``max_video_frames`` frames): probed, its first frame the
        preview. Kept under its own extension, which decides the result's container."""
        from imgtrans.api import VIDEO_EXTENSIONS, video_info, video_poster, videos_supported, write_image_atomic

        if not self.max_video_frames:
            raise InputError(part, "videos are not accepted by this server")
        if not videos_supported():
            raise InputError(part, "videos need PyAV on the server (pip install 'imgtrans[video]')")
        ext = Path(name).suffix.lower().lstrip(".")
        if ext not in VIDEO_EXTENSIONS:
            raise InputError(part, f"a video needs its extension in the name ({', '.join(sorted(VIDEO_EXTENSIONS))})")
        info = video_info(part, self.max_pixels)
        if info["frames"] > self.max_video_frames:
            raise InputError(part, f"{info['frames']} frames: this server converts clips of at most "
                                   f"{self.max_video_frames} frames")
        path = part.with_name(f"{uid}.{ext}")
        part.rename(path)
        preview = part.with_name(f"{uid}.preview.png")
        try:
            write_image_atomic(preview, video_poster(path, self.max_pixels), "png")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Upload(uid, name, path, preview, info["width"], info["height"], frames=info["frames"])


def made_by(path: Path) -> dict | None:
    """The run that made an imgtrans output (``imgtrans.image_info``'s provenance record) as
    a page can restore it: translator, registry weights, options given (without those that
    name files: a file of the run is not the page's to reuse) and seed; None for other images."""
    import imgtrans
    from imgtrans.api import translator_info

    try:
        record = imgtrans.image_info(path)["provenance"]
    except Exception:  # a damaged record is no record
        return None
    if not isinstance(record, dict) or not isinstance(record.get("translator"), str):
        return None
    try:
        known = {o["name"]: o for o in translator_info(record["translator"])["options"]}
    except Exception:  # a translator this server does not have
        return None
    weights = record.get("weights") if isinstance(record.get("weights"), dict) else {}
    given = record.get("options_given") if isinstance(record.get("options_given"), dict) else {}
    options = {key: value for key, value in given.items()
               if key in known and not known[key]["path"] and isinstance(value, (str, int, float, bool))}
    seed = record.get("seed")
    return {"translator": record["translator"],
            "weights": weights.get("name") if isinstance(weights.get("name"), str) else None,
            "options": options, "seed": seed if isinstance(seed, int) else None}


class _Slot:
    """One decode slot, counted."""

    def __init__(self, receiver: Receiver, gate: asyncio.Semaphore) -> None:
        self.receiver, self.gate = receiver, gate

    async def __aenter__(self) -> None:
        await self.gate.acquire()
        self.receiver.decoding += 1
        self.receiver.most_decoding = max(self.receiver.most_decoding, self.receiver.decoding)

    async def __aexit__(self, *exc_info: object) -> None:
        self.receiver.decoding -= 1
        self.gate.release()
