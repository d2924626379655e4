"""The web app in a real browser: the server on a free port (uvicorn in a thread), headless
Chromium driven by Playwright. Each page loads without console errors, converts, draws,
paints; the screenshots in docs/screenshots/ come from here."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed (pip install 'imgtrans[web]')")
pytest.importorskip("uvicorn", reason="the web extra is not installed (pip install 'imgtrans[web]')")
pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (the test extra has it)")

from imgtrans_testenv import ROOT  # noqa: E402
from webapp_support import decode_png, photo, png_bytes  # noqa: E402

SCREENSHOTS = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}  # issue 24: the first screen must work at this size
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    """Debian's chromium (or IMGTRANS_CHROMIUM): Playwright never downloads a browser here."""
    wanted = os.environ.get("IMGTRANS_CHROMIUM")
    if wanted:
        return wanted if Path(wanted).is_file() else None
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


@pytest.fixture(scope="module")
def server_url():
    import uvicorn

    from imgtrans.web.server import WebSettings, create_app

    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(WebSettings(device="cpu")),
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server.should_exit = True
    thread.join(15)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    if executable is None:
        pytest.skip("Chromium not found (apt-get install chromium, or set IMGTRANS_CHROMIUM)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=executable,
            headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT, accept_downloads=True)
        yield context
        context.close()


@pytest.fixture
def page(browser, server_url):
    """A page of the app; the test fails on any console error or uncaught exception (a test
    that provokes one on purpose takes it out of ``page.problems``)."""
    page = browser.new_page()
    problems: list[str] = []
    page.problems = problems  # type: ignore[attr-defined]
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.set_default_timeout(90_000)
    page.app_url = server_url  # type: ignore[attr-defined]
    yield page
    page.close()
    assert problems == []


def open_tab(page, tab: str) -> None:
    page.goto(page.app_url + "#" + tab)
    page.wait_for_selector("body[data-ready='true']")
    assert page.locator(f"#page-{tab}").is_visible()


def wait_done(page, status: str) -> None:
    page.wait_for_selector(f"{status}[data-state='done'], {status}[data-state='failed']")
    assert page.get_attribute(status, "data-state") == "done", page.inner_text(status)


def natural_size(locator, timeout: float = 30.0) -> tuple[int, int]:
    """The image's pixel size once it has loaded (an <img> can be in the page before its
    bytes arrive, and then reports 0 x 0)."""
    deadline = time.monotonic() + timeout
    while True:
        width, height, complete = locator.evaluate("img => [img.naturalWidth, img.naturalHeight, img.complete]")
        if (complete and width > 0) or time.monotonic() > deadline:
            return width, height
        time.sleep(0.05)


def fetch_png(page, url: str) -> np.ndarray:
    return decode_png(page.request.get(page.app_url.rstrip("/") + url if url.startswith("/") else url).body())


def drag(page, start, end, steps=8) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def screenshot(page, name: str) -> None:
    """Every run takes the screenshot (so a broken page shows); it replaces the one in
    docs/screenshots/ only with IMGTRANS_UPDATE_SCREENSHOTS=1, so test runs leave git clean."""
    folder = SCREENSHOTS if os.environ.get("IMGTRANS_UPDATE_SCREENSHOTS") == "1" else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")
    path = folder / f"imgtrans-web-{name}.png" if folder != SCREENSHOTS else folder / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one


def test_every_page_loads_without_console_errors(page):
    for tab in ("convert", "layout", "paint"):
        open_tab(page, tab)
        assert page.locator("nav [aria-selected='true']").get_attribute("data-tab") == tab
    page.click("[data-tab='convert']")
    assert page.locator("#page-convert").is_visible() and page.locator("#page-paint").is_hidden()


def in_view(page, selector: str) -> bool:
    """Whether the element is wholly inside the window without scrolling."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] \
        and box["x"] + box["width"] <= size["width"]


def examples_shown(page, prefix: str) -> None:
    """The page's weights show four example images of their domain, loaded, side by side."""
    images = page.locator(f"#{prefix}-examples img")
    page.wait_for_function("prefix => [...document.querySelectorAll(`#${prefix}-examples img`)]"
                           ".filter((i) => i.complete && i.naturalWidth === 128).length === 4", arg=prefix)
    boxes = [images.nth(k).bounding_box() for k in range(4)]
    assert all(b["height"] == 64 and b["y"] == boxes[0]["y"] for b in boxes)  # one row


def test_the_first_screen_works_on_a_photo(page):
    """Issue 24: the app opens on super-resolution (what works on a photo) with what its
    weights were trained on beside them (words, and example images where the weights have
    them: the bundled demo models of the Layout and Strokes pages), options collapsed, and
    the file drop and Convert above the fold at 1280x900."""
    open_tab(page, "convert")
    assert page.input_value("#cv-translator") == "srgan"
    assert page.inner_text("#cv-trained").startswith("Trained on ")
    assert page.evaluate("window.scrollY") == 0
    assert in_view(page, "#cv-drop") and in_view(page, "#cv-run")
    assert page.locator("#page-convert details:has(#cv-options)").get_attribute("open") is None
    assert page.locator("#cv-examples").is_hidden()  # published-style weights: words only
    page.select_option("#cv-translator", "sdedit")  # its bundled stand-in shows its domain
    examples_shown(page, "cv")
    assert in_view(page, "#cv-drop") and in_view(page, "#cv-run")
    page.click("#page-convert summary")
    # a prompt is typed text (bounded); a mask is one of the page's uploads
    assert page.get_attribute("#cv-options input[name='prompt']", "type") == "text"
    assert int(page.get_attribute("#cv-options input[name='prompt']", "maxlength")) > 0
    assert page.locator("#cv-options select[name='mask'][data-file]").count() == 1
    strength = page.locator("#cv-options .option:has([name='strength'])")
    assert "\n" not in strength.locator("small").inner_text()
    assert strength.locator("details.more").count() == 1  # the whole help on demand
    for tab, prefix in (("layout", "ly"), ("paint", "pt")):
        open_tab(page, tab)
        page.wait_for_function(f"document.querySelector('#{prefix}-trained').textContent.startsWith('Trained on')")
        examples_shown(page, prefix)
        assert in_view(page, f"#{prefix}-examples")
    # the Strokes page takes a prompt for text models; the bundled pixel model refuses one
    assert page.locator("#pt-prompt").is_visible()
    page.fill("#pt-prompt", "a red brick house")
    page.fill("#pt-steps", "2")
    page.fill("#pt-samples", "1")
    page.click("#pt-run")
    page.wait_for_selector("#pt-status[data-state='done'], #pt-status[data-state='failed']")
    weights = page.input_value("#pt-weights")
    if weights.endswith("_synth"):  # the bundled stand-in (no Stable Diffusion here)
        assert "takes no text" in page.inner_text("#pt-status")


def test_dropping_an_output_restores_its_run(page, tmp_path):
    """Issue 23: an imgtrans output carries its run; dropped on the page, it sets the
    translator and options that made it."""
    import imgtrans

    (tmp_path / "photo.png").write_bytes(png_bytes(photo(10, 12, seed=4)))
    imgtrans.convert(tmp_path / "photo.png", tmp_path / "made.png", plugin="resize",
                     options={"scale": "3", "interpolation": "nearest"}, device="cpu")
    open_tab(page, "convert")
    assert page.input_value("#cv-translator") != "resize"
    page.set_input_files("#cv-files-input", str(tmp_path / "made.png"))
    page.wait_for_selector("#cv-restored:not([hidden])")
    assert page.input_value("#cv-translator") == "resize"
    assert page.input_value("#cv-options [name='scale']") == "3"
    assert page.input_value("#cv-options [name='interpolation']") == "nearest"
    assert "made.png" in page.inner_text("#cv-restored")


def test_convert_uploads_images_and_compares_results(page, tmp_path):
    from playwright.sync_api import expect

    open_tab(page, "convert")
    page.select_option("#cv-translator", "srgan")
    assert "bundled" in page.locator("#cv-weights option:checked").inner_text()
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "lowres_0.png").write_bytes(png_bytes(photo(48, 48, seed=2)))
    page.set_input_files("#cv-files-input", [str(tmp_path / "lowres_0.png"), str(tmp_path / "notes.png")])
    page.wait_for_selector("#cv-files li.bad")
    assert page.inner_text("#cv-files li.bad .name") == "notes.png: not an image (unrecognised format)"
    refused = [p for p in page.problems if "status of 400" in p]  # Chromium logs the refusal
    assert len(refused) == 1
    page.problems.remove(refused[0])
    page.click("#cv-files li.bad button")
    page.wait_for_selector("#cv-files li img")
    dropped = page.evaluate_handle(
        """([name, bytes]) => {
             const files = new DataTransfer();
             files.items.add(new File([new Uint8Array(bytes)], name, { type: "image/png" }));
             return files;
           }""", ["dropped.png", list(png_bytes(photo(20, 24, seed=1)))])
    page.dispatch_event("#cv-drop", "drop", {"dataTransfer": dropped})
    expect(page.locator("#cv-files li img")).to_have_count(2)
    page.click("#cv-run")
    wait_done(page, "#cv-status")
    thumbs = page.locator(".thumb img")
    assert [natural_size(thumbs.nth(k)) for k in range(2)] == [(192, 192), (96, 80)]  # x4
    assert page.locator("#cv-compare select.against option[value='bicubic']").count() == 1
    page.select_option("#cv-compare select.against", "bicubic")
    page.click("#cv-compare [data-zoom='1']")
    assert page.locator("#cv-compare .stage").evaluate("s => s.getBoundingClientRect().width") == 192
    with page.expect_download() as download:
        page.click("#cv-zip")
    assert download.value.suggested_filename.endswith(".zip")
    page.click("#cv-compare [data-zoom='fit']")
    work = page.locator("#page-convert .work").bounding_box()
    assert work["width"] > 0.6 * VIEWPORT["width"]  # results use the page's width
    assert page.locator("#cv-compare .viewport").bounding_box()["width"] > work["width"] - 40
    screenshot(page, "convert")


def test_layout_boxes_labels_and_generation(page, tmp_path):
    from playwright.sync_api import expect

    open_tab(page, "layout")
    page.wait_for_selector("#ly-labels option", state="attached")  # the model's vocabulary
    box = page.locator("#ly-canvas").bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    drag(page, at(0.08, 0.30), at(0.42, 0.72))
    drag(page, at(0.55, 0.25), at(0.90, 0.65))
    drag(page, at(0.25, 0.5), at(0.30, 0.55))          # move box 1 by (0.05, 0.05)
    drag(page, at(0.90, 0.65), at(0.94, 0.75))         # resize box 2 by its corner
    labels = page.locator("#ly-boxes input.label")
    assert labels.count() == 2
    labels.nth(0).fill("red circle")
    labels.nth(1).fill("blue square")
    page.locator("#ly-boxes input.seed").nth(1).fill("7")
    assert page.locator("#ly-boxes input.invalid").count() == 0
    page.fill("#ly-samples", "2")
    page.fill("#ly-seed", "1")
    page.click("#ly-run")
    wait_done(page, "#ly-status")
    images = page.locator("#ly-results .sample img")
    assert images.count() == 2 and natural_size(images.first) == (64, 64)
    first, second = (images.nth(k).bounding_box() for k in range(2))
    assert first["y"] == second["y"] and second["x"] > first["x"] + first["width"]  # side by side

    with page.expect_download() as download:
        page.click("#ly-save")
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved["size"] == [512, 512]  # boxes in the canvas's pixels
    (a, b) = saved["objects"]
    assert (a["label"], b["label"], b["seed"], "seed" in a) == ("red circle", "blue square", 7, False)
    assert np.allclose(np.divide(a["box"], 512), [0.13, 0.35, 0.47, 0.77], atol=0.01)
    assert np.allclose(np.divide(b["box"], 512), [0.55, 0.25, 0.94, 0.75], atol=0.01)
    screenshot(page, "layout")

    page.set_input_files("#ly-load", str(ROOT / "samples" / "layout2im" / "three_shapes.json"))
    expect(page.locator("#ly-boxes li")).to_have_count(3)


def canvas_aspect(page) -> float:
    box = page.locator("#ly-canvas").bounding_box()
    return box["width"] / box["height"]


def save_layout(page) -> dict:
    with page.expect_download() as download:
        page.click("#ly-save")
    return json.loads(Path(download.value.path()).read_text())


def generate_one(page) -> np.ndarray:
    """Generate one sample with seed 1; its pixels."""
    page.fill("#ly-samples", "1")
    page.fill("#ly-seed", "1")
    page.click("#ly-run")
    wait_done(page, "#ly-status")
    images = page.locator("#ly-results .sample img")
    assert images.count() == 1
    natural_size(images.first)
    return fetch_png(page, images.first.get_attribute("src"))


def test_a_loaded_layout_keeps_its_size(page, tmp_path):
    import imgtrans
    from playwright.sync_api import expect

    wide = {"size": [200, 100], "objects": [
        {"label": "red circle", "box": [20, 10, 90, 80]},
        {"label": "blue square", "box": [110, 30, 190, 90], "seed": 3}]}
    (tmp_path / "wide.json").write_text(json.dumps(wide))
    open_tab(page, "layout")
    page.wait_for_selector("#ly-labels option", state="attached")
    page.set_input_files("#ly-load", str(tmp_path / "wide.json"))
    expect(page.locator("#ly-boxes li")).to_have_count(2)
    assert (page.input_value("#ly-width"), page.input_value("#ly-height")) == ("200", "100")
    assert page.get_by_role("button", name="2:1").get_attribute("aria-pressed") == "true"
    assert canvas_aspect(page) == pytest.approx(2.0, rel=0.01)

    saved = save_layout(page)
    assert saved == wide
    pixels = generate_one(page)
    assert pixels.shape[:2] == (32, 64)  # 2:1, longer side the model's 64
    # the CLI gives the same image from the saved file (named as the page saves it: object
    # codes are seeded from the run's seed and the file's name)
    (tmp_path / "cli-in").mkdir()
    (tmp_path / "cli-in" / "layout.json").write_text(json.dumps(saved))
    report = imgtrans.convert(tmp_path / "cli-in" / "layout.json", tmp_path / "cli-out", plugin="layout2im",
                              seed=1, options={"samples": "1"}, device="cpu")
    (out,) = report.items[0].outputs or [report.items[0].output]
    assert np.array_equal(decode_png(Path(out).read_bytes())[..., :3], pixels[..., :3])

    page.get_by_role("button", name="1:2").click()  # another aspect: boxes keep their place
    assert canvas_aspect(page) == pytest.approx(0.5, rel=0.01)
    tall = save_layout(page)
    assert tall["size"] == [256, 512]
    for before, after in zip(wide["objects"], tall["objects"]):
        assert np.allclose(np.divide(after["box"], [256, 512, 256, 512]),
                           np.divide(before["box"], [200, 100, 200, 100]), atol=1e-4)


def test_a_tall_preset_gives_a_tall_image(page):
    open_tab(page, "layout")
    page.wait_for_selector("#ly-labels option", state="attached")
    page.get_by_role("button", name="1:2").click()
    assert (page.input_value("#ly-width"), page.input_value("#ly-height")) == ("256", "512")
    box = page.locator("#ly-canvas").bounding_box()
    assert box["width"] / box["height"] == pytest.approx(0.5, rel=0.01)
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    drag(page, at(0.2, 0.1), at(0.8, 0.6))
    page.locator("#ly-boxes input.label").first.fill("red circle")
    assert generate_one(page).shape[:2] == (64, 32)
    saved = save_layout(page)
    assert saved["size"] == [256, 512]
    assert np.allclose(np.divide(saved["objects"][0]["box"], [256, 512, 256, 512]), [0.2, 0.1, 0.8, 0.6], atol=0.01)

    page.fill("#ly-width", "300")  # a typed size: no preset matches
    page.fill("#ly-height", "100")
    assert canvas_aspect(page) == pytest.approx(3.0, rel=0.01)
    assert page.locator("#ly-presets [aria-pressed='true']").count() == 0
    page.fill("#ly-height", "0")  # refused: the canvas keeps the last valid size
    assert page.locator("#ly-height.invalid").count() == 1 and canvas_aspect(page) == pytest.approx(3.0, rel=0.01)


def test_paint_strokes_and_mask_keep_unmasked_pixels(page, tmp_path):
    open_tab(page, "paint")
    facade = ROOT / "samples" / "images" / "facade.png"
    rgb = decode_png(facade.read_bytes())
    page.set_input_files("#pt-photo", str(facade))
    page.wait_for_selector("#pt-stack[data-photo]")
    box = page.locator("#pt-stack").bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    page.fill("#pt-color", "#2050d0")
    page.fill("#pt-size", "8")
    drag(page, at(0.32, 0.46), at(0.58, 0.52))         # strokes inside what the mask covers
    page.click("#pt-swatches .swatch >> nth=2")
    drag(page, at(0.35, 0.54), at(0.55, 0.47))
    page.click("[data-layer='mask']")
    page.fill("#pt-size", "64")
    drag(page, at(0.30, 0.50), at(0.60, 0.50))
    page.fill("#pt-steps", "4")
    page.fill("#pt-samples", "2")
    page.fill("#pt-seed", "3")
    page.click("#pt-run")
    wait_done(page, "#pt-status")

    with page.expect_download() as download:
        page.click("#pt-mask-png")
    mask = decode_png(Path(download.value.path()).read_bytes())[..., 0]
    assert mask.shape == rgb.shape[:2] and 0 < (mask > 0).mean() < 0.6
    keep = mask == 0
    outputs = page.locator("#pt-results .sample:not(.guide) img")
    assert outputs.count() == 2
    guide_box, first_box = page.locator("#pt-results .guide img").bounding_box(), outputs.first.bounding_box()
    assert guide_box["y"] == first_box["y"] and first_box["x"] > guide_box["x"]  # side by side
    for k in range(2):
        out = fetch_png(page, outputs.nth(k).get_attribute("src"))[..., :3]
        assert out.shape == rgb.shape
        assert np.array_equal(out[keep], rgb[keep])      # outside the mask: the photo, exactly
        assert not np.array_equal(out[~keep], rgb[~keep])  # inside: edited
    with page.expect_download() as download:
        page.click("#pt-guide")
    assert decode_png(Path(download.value.path()).read_bytes()).shape[:2] == rgb.shape[:2]
    screenshot(page, "paint")


def test_the_pages_own_requests_pass_the_origin_check_and_closing_ends_the_session(page):
    """Chromium sends the page's Origin with every POST (uploads, jobs, and the close sent
    with ``fetch(keepalive)`` on leaving), which the server refuses without it."""
    import urllib.error
    import urllib.request

    with page.expect_response(lambda r: r.url.endswith("/api/sessions")) as created:
        open_tab(page, "convert")
    assert created.value.status == 201
    sid = created.value.json()["id"]
    fields = page.locator("#page-convert input[type=number][min][max]")  # the declared ranges
    assert fields.count() > 0 and float(fields.first.get_attribute("max")) >= float(fields.first.get_attribute("min"))
    alive = page.app_url + f"api/s/{sid}"
    assert urllib.request.urlopen(alive).status == 200
    page.goto("about:blank")  # leaving the page sends its close
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(alive)
        except urllib.error.HTTPError as gone:
            assert gone.code == 404
            break
        assert time.monotonic() < deadline, "the page's close request did not end its session"
        time.sleep(0.1)


def test_a_short_clip_converts_and_offers_the_video(page, tmp_path):
    """Issue 21: a video dropped on the Convert page runs as a job and its result is a video
    to play and download."""
    av = pytest.importorskip("av", reason="PyAV is not installed (the video extra)")
    from fractions import Fraction

    out = av.open(str(tmp_path / "clip.mp4"), "w")
    stream = out.add_stream("libx264", rate=10)
    stream.width, stream.height, stream.pix_fmt, stream.time_base = 32, 24, "yuv420p", Fraction(1, 10)
    for i in range(5):
        frame = av.VideoFrame.from_ndarray(photo(24, 32, seed=i), format="rgb24")
        frame.pts = i
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    open_tab(page, "convert")
    page.select_option("#cv-translator", "resize")
    page.set_input_files("#cv-files-input", str(tmp_path / "clip.mp4"))
    page.wait_for_selector("#cv-files li img")
    assert "5 frames" in page.inner_text("#cv-files li")
    page.click("#cv-run")
    wait_done(page, "#cv-status")
    page.wait_for_selector("#cv-player:not([hidden]) video")
    assert page.locator("#cv-compare").is_hidden()
    link = page.locator("#cv-player a[download]")
    assert link.get_attribute("download") == "clip.mp4"
    assert page.request.get(page.app_url.rstrip("/") + link.get_attribute("href")).headers["content-type"] == "video/mp4"
