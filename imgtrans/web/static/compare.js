// Before/after viewer: the output under the input (or a bicubic enlargement), split by a
// slider, with zoom levels that show image pixels 1:1 on the screen (device pixels, so a
// HiDPI display does not blur them) or magnified without smoothing.

import { el } from "./common.js";

const ZOOMS = [["fit", "Fit"], ["1", "1:1"], ["2", "2×"], ["4", "4×"], ["8", "8×"]];

export function createCompare(root) {
  root.classList.add("compare");
  const against = el("select", { class: "against", "aria-label": "compare with" });
  const zoomButtons = ZOOMS.map(([value, text]) => el("button", { type: "button", "data-zoom": value, text }));
  const info = el("span", { class: "muted info" });
  const after = el("img", { class: "after", alt: "output", draggable: "false" });
  const before = el("img", { class: "before", alt: "input", draggable: "false" });
  const divider = el("div", { class: "divider" });
  const stage = el("div", { class: "stage" }, after, before, divider);
  const viewport = el("div", { class: "viewport" }, stage);
  const split = el("input", { type: "range", min: 0, max: 1000, value: 500, class: "split",
    "aria-label": "before/after split" });
  const legend = el("div", { class: "legend muted" }, el("span", { class: "left-name", text: "input" }),
    el("span", { text: "output" }));
  root.replaceChildren(el("div", { class: "bar" }, el("label", {}, "Left: ", against),
    el("span", { class: "seg" }, ...zoomButtons), info), viewport, split, legend);
  root.hidden = true;

  let item = null;
  let zoom = "fit";

  function setSplit(fraction) {
    const f = Math.min(1, Math.max(0, fraction));
    before.style.clipPath = `inset(0 ${(1 - f) * 100}% 0 0)`;
    divider.style.left = `${f * 100}%`;
    split.value = String(Math.round(f * 1000));
  }

  function layout() {
    if (!item) return;
    const dpr = window.devicePixelRatio || 1;
    let scale;
    if (zoom === "fit") {
      const width = Math.max(100, viewport.clientWidth - 2);
      const height = Math.max(200, window.innerHeight * 0.72);
      scale = Math.min(width / item.width, height / item.height, 8);
    } else {
      scale = Number(zoom) / dpr;
    }
    stage.style.width = `${Math.round(item.width * scale)}px`;
    stage.style.height = `${Math.round(item.height * scale)}px`;
    const percent = zoom === "fit" ? `${Math.round(scale * dpr * 100)} %` : `${zoom}:1 pixels`;
    info.textContent = `${item.width}×${item.height} · ${percent}`;
    for (const button of zoomButtons) button.classList.toggle("on", button.dataset.zoom === zoom);
  }

  function setLeft() {
    before.src = item[against.value] || item.before;
    legend.querySelector(".left-name").textContent = against.value === "bicubic" ? "bicubic" : "input";
  }

  for (const button of zoomButtons) {
    button.addEventListener("click", () => { zoom = button.dataset.zoom; layout(); });
  }
  against.addEventListener("change", setLeft);
  split.addEventListener("input", () => setSplit(Number(split.value) / 1000));
  stage.addEventListener("pointerdown", (event) => {
    stage.setPointerCapture(event.pointerId);
    const move = (e) => {
      const rect = stage.getBoundingClientRect();
      setSplit((e.clientX - rect.left) / rect.width);
    };
    move(event);
    stage.addEventListener("pointermove", move);
    stage.addEventListener("pointerup", () => stage.removeEventListener("pointermove", move), { once: true });
  });
  window.addEventListener("resize", () => { if (zoom === "fit") layout(); });

  return {
    /** Show {before, after, bicubic?, width, height} (width/height: the output's). */
    show(next) {
      item = next;
      root.hidden = false;
      against.replaceChildren(el("option", { value: "before", text: "input" }),
        ...(next.bicubic ? [el("option", { value: "bicubic", text: "bicubic" })] : []));
      against.disabled = !next.bicubic;
      after.src = next.after;
      setLeft();
      setSplit(0.5);
      layout();
    },
    clear() { item = null; root.hidden = true; },
  };
}
