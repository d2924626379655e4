// Strokes → image page (SDEdit): paint a guide (coloured strokes on a blank canvas or over
// a photo) and optionally a mask of the region to edit; both are sent as the PNG files
// `imgtrans convert --plugin sdedit` takes (the guide as input, the mask as --opt mask=),
// and can be downloaded as such.

import { $, canvasBlob, downloadBlob, el, fillWeights, rowSize, runJob, showSamples, shownSize, showTrainedOn, Status, translators, uploadImage } from "./common.js";

const MASK_COLOUR = "#ff2d78";  // shown half transparent; white in the mask file
const SWATCHES = ["#3a6bc4", "#7fb2e5", "#4f8a3c", "#9ccf6a", "#8a5a3c", "#c0392b", "#e8c547", "#ffffff", "#8a8f98", "#1d2330"];
const UNDO_DEPTH = 40;

export function initPaint() {
  const translator = translators((t) => t.name === "sdedit")[0];
  const status = new Status($("#pt-status"));
  if (!translator) {
    status.error("the sdedit translator is not installed");
    return;
  }
  const stack = $("#pt-stack");
  const base = $("#pt-base");
  const strokes = $("#pt-strokes");
  const mask = $("#pt-mask");
  const layers = { strokes, mask };
  const state = { layer: "strokes", tool: "brush", undo: [], photo: null };
  const context = (canvas) => canvas.getContext("2d", { willReadFrequently: canvas !== base });

  fillWeights($("#pt-weights"), translator);
  const showTrained = () => showTrainedOn($("#pt-trained"), $("#pt-examples"), translator, $("#pt-weights").value);
  $("#pt-weights").addEventListener("change", showTrained);
  showTrained();
  const defaults = Object.fromEntries(translator.options.map((o) => [o.name, o.default]));
  const promptOption = translator.options.find((o) => o.name === "prompt");  // text models
  $("#pt-prompt-field").hidden = !promptOption;
  if (promptOption && promptOption.max_length) $("#pt-prompt").maxLength = promptOption.max_length;
  $("#pt-strength").value = defaults.strength ?? 0.5;
  $("#pt-strength-out").value = $("#pt-strength").value;
  $("#pt-steps").value = defaults.steps ?? 50;
  $("#pt-strength").addEventListener("input", () => { $("#pt-strength-out").value = $("#pt-strength").value; });

  // -- canvases ---------------------------------------------------------------------------
  function setSize(width, height) {
    for (const canvas of [base, strokes, mask]) {
      canvas.width = width;
      canvas.height = height;
    }
    stack.style.aspectRatio = `${width} / ${height}`;
    state.undo = [];
  }

  function blank() {
    setSize(256, 256);
    const ctx = context(base);
    ctx.fillStyle = $("#pt-background").value;
    ctx.fillRect(0, 0, base.width, base.height);
    state.photo = null;
  }

  async function usePhoto(file) {
    status.set("running", `uploading ${file.name}`, null);
    const up = await uploadImage(file, file.name);  // decoded by the server: any format, EXIF applied
    const image = new Image();
    image.src = up.url;
    await image.decode();
    setSize(up.width, up.height);
    context(base).drawImage(image, 0, 0);
    state.photo = up;
    status.set("done", `${up.name}: ${up.width}×${up.height}`, 1);
    stack.dataset.photo = up.id;
  }

  // -- painting -------------------------------------------------------------------------
  function setChoice(group, key, value) {
    state[key] = value;
    for (const button of $(group).querySelectorAll("button")) button.classList.toggle("on", button.dataset[key] === value);
    stack.dataset.layer = state.layer;
  }
  for (const button of $("#pt-layer").querySelectorAll("button")) {
    button.addEventListener("click", () => setChoice("#pt-layer", "layer", button.dataset.layer));
  }
  for (const button of $("#pt-tool").querySelectorAll("button")) {
    button.addEventListener("click", () => setChoice("#pt-tool", "tool", button.dataset.tool));
  }
  $("#pt-swatches").append(...SWATCHES.map((colour) => {
    const swatch = el("button", { type: "button", class: "swatch", title: colour, "aria-label": `colour ${colour}`,
      onclick: () => { $("#pt-color").value = colour; } });
    swatch.style.background = colour;
    return swatch;
  }));

  function point(event) {
    const rect = strokes.getBoundingClientRect();
    return [(event.clientX - rect.left) * (strokes.width / rect.width), (event.clientY - rect.top) * (strokes.height / rect.height), rect];
  }

  stack.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    stack.setPointerCapture(event.pointerId);
    const canvas = layers[state.layer];
    const ctx = context(canvas);
    state.undo.push({ canvas, pixels: ctx.getImageData(0, 0, canvas.width, canvas.height) });
    if (state.undo.length > UNDO_DEPTH) state.undo.shift();
    let [x, y, rect] = point(event);
    ctx.save();
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = Number($("#pt-size").value) * (canvas.width / rect.width);  // size on screen
    ctx.strokeStyle = ctx.fillStyle = state.layer === "mask" ? MASK_COLOUR : $("#pt-color").value;
    ctx.globalCompositeOperation = state.tool === "eraser" ? "destination-out" : "source-over";
    ctx.beginPath();
    ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    const move = (e) => {
      const [nx, ny] = point(e);
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(nx, ny);
      ctx.stroke();
      [x, y] = [nx, ny];
    };
    const end = () => {
      ctx.restore();
      stack.removeEventListener("pointermove", move);
      stack.removeEventListener("pointerup", end);
      stack.removeEventListener("pointercancel", end);
    };
    stack.addEventListener("pointermove", move);
    stack.addEventListener("pointerup", end);
    stack.addEventListener("pointercancel", end);
  });

  $("#pt-undo").addEventListener("click", () => {
    const step = state.undo.pop();
    if (step) context(step.canvas).putImageData(step.pixels, 0, 0);
  });
  $("#pt-clear").addEventListener("click", () => {
    for (const canvas of [strokes, mask]) {
      state.undo.push({ canvas, pixels: context(canvas).getImageData(0, 0, canvas.width, canvas.height) });
      context(canvas).clearRect(0, 0, canvas.width, canvas.height);
    }
  });
  $("#pt-blank").addEventListener("click", blank);
  $("#pt-photo-button").addEventListener("click", () => $("#pt-photo").click());
  $("#pt-photo").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) await usePhoto(file).catch((err) => status.error(err.message));
  });

  // -- the files imgtrans reads ---------------------------------------------------------
  function canvasOf(width, height) {
    const canvas = el("canvas");
    canvas.width = width;
    canvas.height = height;
    return canvas;
  }

  function guide() {  // the photo or background, with the strokes over it
    const out = canvasOf(base.width, base.height);
    const ctx = out.getContext("2d");
    ctx.drawImage(base, 0, 0);
    ctx.drawImage(strokes, 0, 0);
    return canvasBlob(out);
  }

  function maskPainted() {
    const alpha = context(mask).getImageData(0, 0, mask.width, mask.height).data;
    for (let i = 3; i < alpha.length; i += 4) if (alpha[i]) return true;
    return false;
  }

  function maskFile() {  // white = edit, black = keep; soft brush edges are grey (a blend)
    const white = canvasOf(mask.width, mask.height);
    const w = white.getContext("2d");
    w.drawImage(mask, 0, 0);
    w.globalCompositeOperation = "source-in";
    w.fillStyle = "#fff";
    w.fillRect(0, 0, white.width, white.height);
    const out = canvasOf(mask.width, mask.height);
    const ctx = out.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(white, 0, 0);
    return canvasBlob(out);
  }

  const stem = () => (state.photo ? state.photo.name.replace(/\.[^.]*$/, "") : "strokes");
  $("#pt-guide").addEventListener("click", async () => downloadBlob(await guide(), `${stem()}.png`));
  $("#pt-mask-png").addEventListener("click", async () => downloadBlob(await maskFile(), `${stem()}-mask.png`));

  $("#pt-run").addEventListener("click", async () => {
    const run = $("#pt-run");
    run.disabled = true;
    try {
      status.set("queued", "sending the guide", null);
      const sent = await uploadImage(await guide(), `${stem()}.png`);
      const options = { strength: $("#pt-strength").value, steps: $("#pt-steps").value, samples: $("#pt-samples").value };
      if (promptOption && $("#pt-prompt").value.trim()) options.prompt = $("#pt-prompt").value.trim();
      if (maskPainted()) options.mask = { upload: (await uploadImage(await maskFile(), `${stem()}-mask.png`)).id };
      const job = await runJob({ kind: "convert", translator: translator.name, weights: $("#pt-weights").value || null,
        options, seed: $("#pt-seed").value || null, inputs: [sent.id] }, status);
      const size = job ? rowSize($("#pt-results"), job, 1) : 192;
      const [width, height] = shownSize(sent.width, sent.height, size);
      const lead = el("figure", { class: "sample guide" }, el("img", { src: sent.url, alt: "guide", width, height }),
        el("figcaption", { text: options.mask ? "guide (masked)" : "guide" }));
      if (job) showSamples($("#pt-results"), job, { size, lead });
    } catch (err) {
      status.error(err.message);
    } finally {
      run.disabled = false;
    }
  });

  blank();
}
