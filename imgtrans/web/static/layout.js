// Layout → image page: draw labelled boxes, generate images with a layout translator.
// The page keeps boxes as fractions of the canvas (x0, y0, x1, y1), origin top left, so they
// keep their place when the canvas's aspect changes. Save and Generate write the layout file
// format of `imgtrans convert` (plugins/imgtrans_layout2im/layouts.py) with the canvas's
// "size" [width, height] and the boxes in its pixels: the images keep that aspect.

import { $, el, downloadBlob, fillWeights, optionsForm, rowSize, runJob, showSamples, showTrainedOn, Status, translators } from "./common.js";

const MIN_SIZE = 0.02;  // a smaller box is a click, not a box
const HANDLE = 9;       // corner grab radius, in screen pixels
const SQUARE = [512, 512];
const BACKING = 512;    // canvas pixels of the longer side

const positive = (v) => Number.isFinite(v) && v > 0;
// Digits that keep a coordinate to 1/10000 of its side or finer (the file's precision).
const digits = (side) => Math.max(0, Math.ceil(4 - Math.log10(side)));

export function initLayout() {
  const choices = translators((t) => t.input_kind === "layout");
  const status = new Status($("#ly-status"));
  if (!choices.length) {
    status.error("no layout translator is installed");
    return;
  }
  const canvas = $("#ly-canvas");
  const ctx = canvas.getContext("2d");
  const select = $("#ly-translator");
  const weights = $("#ly-weights");
  const list = $("#ly-boxes");
  const [widthInput, heightInput] = [$("#ly-width"), $("#ly-height")];
  const presets = [...document.querySelectorAll("#ly-presets button")];
  const state = { boxes: [], selected: -1, labels: [], drag: null, size: SQUARE };
  let form = null;

  const current = () => choices.find((t) => t.name === select.value);
  const known = (label) => state.labels.includes(String(label)) || /^\d+$/.test(String(label));

  function hue(label) {
    let h = 7;
    for (const c of String(label)) h = (h * 31 + c.charCodeAt(0)) % 360;
    return h;
  }

  // -- drawing ----------------------------------------------------------------------------
  function draw() {
    const { width: W, height: H } = canvas;
    ctx.fillStyle = "#f6f7f9";
    ctx.fillRect(0, 0, W, H);
    ctx.strokeStyle = "#e3e6ea";
    ctx.lineWidth = 1;
    for (let k = 1; k < 8; k++) {
      ctx.beginPath();
      ctx.moveTo((k * W) / 8 + 0.5, 0); ctx.lineTo((k * W) / 8 + 0.5, H);
      ctx.moveTo(0, (k * H) / 8 + 0.5); ctx.lineTo(W, (k * H) / 8 + 0.5);
      ctx.stroke();
    }
    ctx.font = "600 15px system-ui, sans-serif";
    state.boxes.forEach((b, i) => {
      const [x0, y0, x1, y1] = [b.box[0] * W, b.box[1] * H, b.box[2] * W, b.box[3] * H];
      const h = hue(b.label);
      ctx.fillStyle = `hsla(${h}, 70%, 55%, 0.22)`;
      ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
      ctx.strokeStyle = known(b.label) ? `hsl(${h}, 60%, 38%)` : "#c0392b";
      ctx.lineWidth = i === state.selected ? 3 : 2;
      ctx.setLineDash(known(b.label) ? [] : [6, 4]);
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      ctx.setLineDash([]);
      ctx.fillStyle = "#1d2330";
      ctx.fillText(`${i + 1}. ${b.label || "?"}`, x0 + 5, y0 + 18, Math.max(20, x1 - x0 - 10));
      if (i === state.selected) {
        ctx.fillStyle = "#fff";
        for (const [x, y] of corners(b.box)) {
          ctx.fillRect(x * W - 5, y * H - 5, 10, 10);
          ctx.strokeRect(x * W - 5, y * H - 5, 10, 10);
        }
      }
    });
  }

  const corners = ([x0, y0, x1, y1]) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];

  function renderList() {
    list.replaceChildren(...state.boxes.map((b, i) => {
      const label = el("input", { class: "label", list: "ly-labels", value: String(b.label),
        placeholder: "label (type to search)", "aria-label": `label of box ${i + 1}` });
      const swatch = el("span", { class: "swatch" });
      const paint = () => {
        label.classList.toggle("invalid", !known(b.label));
        swatch.style.background = `hsl(${hue(b.label)}, 60%, 50%)`;
      };
      paint();
      label.addEventListener("input", () => {
        b.label = label.value;
        paint();
        draw();
      });
      label.addEventListener("focus", () => choose(i, false));
      const seed = el("input", { class: "seed", type: "number", min: 0, value: b.seed ?? "",
        placeholder: "seed", title: "a fixed seed keeps this object's look; empty: a new look each run",
        "aria-label": `seed of box ${i + 1}` });
      seed.addEventListener("input", () => { b.seed = seed.value === "" ? null : Number(seed.value); });
      const reroll = el("button", { type: "button", class: "icon", title: "draw a new fixed seed", text: "↻",
        onclick: () => { b.seed = Math.floor(Math.random() * 2 ** 31); seed.value = b.seed; } });
      const remove = el("button", { type: "button", class: "icon", title: "remove this box", text: "×",
        onclick: () => removeBox(i) });
      return el("li", { class: i === state.selected ? "on" : "" }, swatch, label, seed, reroll, remove);
    }));
  }

  function choose(i, relist = true) {
    state.selected = i;
    draw();
    if (relist) renderList();
    else list.querySelectorAll("li").forEach((li, k) => li.classList.toggle("on", k === i));
  }

  function removeBox(i) {
    state.boxes.splice(i, 1);
    state.selected = Math.min(state.selected, state.boxes.length - 1);
    draw();
    renderList();
  }

  // -- the canvas's size: its aspect is the images' ----------------------------------------
  function applySize() {
    const [w, h] = state.size;
    const aspect = w / h;
    canvas.width = Math.max(8, Math.round(BACKING * Math.min(1, aspect)));
    canvas.height = Math.max(8, Math.round(BACKING * Math.min(1, 1 / aspect)));
    canvas.style.width = `${100 * Math.min(1, aspect)}%`;  // fits the square area; height follows
    for (const button of presets) {
      const [pw, ph] = button.dataset.size.split(",").map(Number);
      const on = Math.abs(pw / ph - aspect) < 1e-3 * aspect;
      button.classList.toggle("on", on);
      button.setAttribute("aria-pressed", String(on));
    }
    draw();
  }

  function setSize([w, h]) {
    state.size = [w, h];
    widthInput.value = w;
    heightInput.value = h;
    widthInput.classList.remove("invalid");
    heightInput.classList.remove("invalid");
    applySize();
  }

  function onSizeInput() {
    const [w, h] = [Number(widthInput.value), Number(heightInput.value)];
    widthInput.classList.toggle("invalid", !positive(w));
    heightInput.classList.toggle("invalid", !positive(h));
    if (!positive(w) || !positive(h)) return;  // the canvas keeps the last valid size
    state.size = [w, h];
    applySize();
  }

  widthInput.addEventListener("input", onSizeInput);
  heightInput.addEventListener("input", onSizeInput);
  for (const button of presets) {
    button.addEventListener("click", () => setSize(button.dataset.size.split(",").map(Number)));
  }

  // -- mouse: add, move, resize ---------------------------------------------------------
  function at(event) {
    const rect = canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((event.clientX - rect.left) / rect.width), clamp((event.clientY - rect.top) / rect.height), rect];
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    const [x, y, rect] = at(event);
    canvas.setPointerCapture(event.pointerId);
    const near = (cx, cy) => Math.abs(cx - x) * rect.width <= HANDLE && Math.abs(cy - y) * rect.height <= HANDLE;
    const order = [state.selected, ...state.boxes.map((_, i) => state.boxes.length - 1 - i)];
    for (const i of order.filter((i) => i >= 0)) {  // corners first: the selected box's, then the topmost
      const corner = corners(state.boxes[i].box).findIndex(([cx, cy]) => near(cx, cy));
      if (corner >= 0) {
        choose(i);
        state.drag = { mode: "resize", corner, box: state.boxes[i] };
        return;
      }
    }
    for (let i = state.boxes.length - 1; i >= 0; i--) {
      const [x0, y0, x1, y1] = state.boxes[i].box;
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) {
        choose(i);
        state.drag = { mode: "move", from: [x, y], start: [...state.boxes[i].box], box: state.boxes[i] };
        return;
      }
    }
    const last = state.boxes[state.boxes.length - 1];
    const box = { label: last ? last.label : state.labels[0] || "", box: [x, y, x, y], seed: null };
    state.boxes.push(box);
    state.selected = state.boxes.length - 1;
    state.drag = { mode: "create", from: [x, y], box };
    draw();
  });

  canvas.addEventListener("pointermove", (event) => {
    const drag = state.drag;
    if (!drag) return;
    const [x, y] = at(event);
    const b = drag.box.box;
    if (drag.mode === "create") {
      drag.box.box = [Math.min(drag.from[0], x), Math.min(drag.from[1], y), Math.max(drag.from[0], x), Math.max(drag.from[1], y)];
    } else if (drag.mode === "move") {
      const [x0, y0, x1, y1] = drag.start;
      const dx = Math.min(1 - x1, Math.max(-x0, x - drag.from[0]));
      const dy = Math.min(1 - y1, Math.max(-y0, y - drag.from[1]));
      drag.box.box = [x0 + dx, y0 + dy, x1 + dx, y1 + dy];
    } else {
      const xi = drag.corner === 0 || drag.corner === 3 ? 0 : 2;
      const yi = drag.corner < 2 ? 1 : 3;
      b[xi] = x;
      b[yi] = y;
    }
    draw();
  });

  canvas.addEventListener("pointerup", () => {
    const drag = state.drag;
    state.drag = null;
    if (!drag) return;
    const [x0, y0, x1, y1] = drag.box.box;
    drag.box.box = [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
    const [a, b, c, d] = drag.box.box;
    if (drag.mode === "create" && (c - a < MIN_SIZE || d - b < MIN_SIZE)) {
      state.boxes.pop();
      state.selected = -1;
    }
    draw();
    renderList();
  });

  document.addEventListener("keydown", (event) => {
    if ($("#page-layout").hidden || event.target.closest("input, select, textarea")) return;
    if ((event.key === "Delete" || event.key === "Backspace") && state.selected >= 0) {
      event.preventDefault();
      removeBox(state.selected);
    }
  });

  // -- the layout file ------------------------------------------------------------------
  function layoutJson() {
    const [w, h] = state.size;
    const label = (v) => (/^\d+$/.test(String(v)) && !state.labels.includes(String(v)) ? Number(v) : String(v));
    const pixels = (v, k) => {
      const side = k % 2 ? h : w;
      return Number((v * side).toFixed(digits(side)));
    };
    return { size: [w, h], objects: state.boxes.map((b) => ({
      label: label(b.label), box: b.box.map(pixels),
      ...(b.seed === null || Number.isNaN(b.seed) ? {} : { seed: b.seed }) })) };
  }

  function setBoxes(boxes) {
    state.boxes = boxes;
    state.selected = -1;
    draw();
    renderList();
  }

  function loadLayout(data) {
    let layout = data;
    let size = null;
    if (Array.isArray(data)) layout = data[0];
    else if (data && Array.isArray(data.layouts)) [layout, size] = [data.layouts[0], data.size];
    if (!layout || !Array.isArray(layout.objects)) throw new Error("not a layout file: it has no \"objects\"");
    const given = layout.size || size;
    if (given && !(Array.isArray(given) && given.length === 2 && given.every((v) => positive(Number(v))))) {
      throw new Error("\"size\" must be [width, height], two positive numbers");
    }
    const [w, h] = given ? given.map(Number) : [1, 1];  // without a size, boxes are fractions
    const boxes = layout.objects.map((o) => ({ label: String(o.label),
      box: o.box.map((v, k) => Number(v) / (k % 2 ? h : w)), seed: Number.isInteger(o.seed) ? o.seed : null }));
    setSize(given ? [w, h] : SQUARE);
    setBoxes(boxes);
    const count = Array.isArray(data) ? data.length : data.layouts ? data.layouts.length : 1;
    if (count > 1) status.set("done", `the file holds ${count} layouts: loaded the first`, 1);
  }

  $("#ly-save").addEventListener("click", () =>
    downloadBlob(new Blob([JSON.stringify(layoutJson(), null, 1)], { type: "application/json" }), "layout.json"));
  $("#ly-open").addEventListener("click", () => $("#ly-load").click());
  $("#ly-load").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    try {
      loadLayout(JSON.parse(await file.text()));
    } catch (err) {
      status.error(`${file.name}: ${err.message}`);
    }
  });
  $("#ly-clear").addEventListener("click", () => setBoxes([]));  // the size stays

  // -- the model: labels, generation ------------------------------------------------------
  async function loadLabels() {
    showTrainedOn($("#ly-trained"), $("#ly-examples"), current(), weights.value);
    state.labels = [];
    const job = await runJob({ kind: "labels", translator: select.value, weights: weights.value || null }, status);
    if (!job || job.state !== "done") return;
    state.labels = job.labels;
    $("#ly-labels").replaceChildren(...job.labels.map((name) => el("option", { value: name })));
    status.set("done", `${job.labels.length} labels`, 1);
    draw();
    renderList();
  }

  function onTranslator() {
    fillWeights(weights, current());
    form = optionsForm($("#ly-options"), current(), { skip: ["samples"] });
    loadLabels();
  }

  select.replaceChildren(...choices.map((t) => el("option", { value: t.name, text: t.name })));
  select.addEventListener("change", onTranslator);
  weights.addEventListener("change", loadLabels);
  onTranslator();
  setSize(SQUARE);

  $("#ly-run").addEventListener("click", async () => {
    if (!state.boxes.length) {
      status.error("draw at least one box");
      return;
    }
    const run = $("#ly-run");
    run.disabled = true;
    const job = await runJob({ kind: "convert", translator: select.value, weights: weights.value || null,
      options: { ...form.values(), samples: $("#ly-samples").value }, seed: $("#ly-seed").value || null,
      layout: layoutJson() }, status);
    run.disabled = false;
    if (job) showSamples($("#ly-results"), job, { size: rowSize($("#ly-results"), job) });
  });
}
