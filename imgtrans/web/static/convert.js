// Convert page: a translator, its weights and options, some images; results side by side
// with their inputs in the before/after viewer, downloadable one by one or as a zip.

import { $, el, fillWeights, inSession, optionsForm, runJob, showTrainedOn, Status, translators, uploadImage } from "./common.js";
import { createCompare } from "./compare.js";

export function initConvert() {
  const choices = translators((t) => t.input_kind !== "layout");
  const select = $("#cv-translator");
  const weights = $("#cv-weights");
  const list = $("#cv-files");
  const thumbs = $("#cv-thumbs");
  const zip = $("#cv-zip");
  const run = $("#cv-run");
  const status = new Status($("#cv-status"), $("#cv-cancel"));
  const compare = createCompare($("#cv-compare"));
  const player = $("#cv-player");
  const uploads = [];
  let form = null;
  let shown = 0;
  let selected = 0;

  const current = () => choices.find((t) => t.name === select.value);

  function onTranslator() {
    const translator = current();
    $("#cv-summary").textContent = translator.summary;
    fillWeights(weights, translator);
    onWeights();
    form = optionsForm($("#cv-options"), translator, { uploads: () => uploads });
    $("#cv-seed-field").hidden = !translator.stochastic;
  }

  function onWeights() {
    showTrainedOn($("#cv-trained"), $("#cv-examples"), current(), weights.value);
  }

  select.replaceChildren(...choices.map((t) => el("option", { value: t.name, text: t.name })));
  // the translator most likely to work on a user's photo: super-resolution (a published
  // Real-ESRGAN model, or its bundled stand-in offline), else any with weights at hand
  const usable = (t) => !t.default_missing && (!t.requires_weights || t.weights.some((w) => w.default));
  const ready = choices.find((t) => t.name === "srgan" && usable(t)) || choices.find(usable);
  if (ready) select.value = ready.name;
  select.addEventListener("change", onTranslator);
  weights.addEventListener("change", onWeights);
  onTranslator();

  /** Settings of the run that made a dropped imgtrans output (its provenance record). */
  function restore(up) {
    const made = up.made_by;
    const translator = made && choices.find((t) => t.name === made.translator);
    if (!translator) return;
    select.value = translator.name;
    onTranslator();
    if (made.weights && [...weights.options].some((o) => o.value === made.weights && !o.disabled)) {
      weights.value = made.weights;
      onWeights();
    }
    form.set(made.options);
    if (made.seed !== null && translator.stochastic) $("#cv-seed").value = String(made.seed);
    $("#cv-restored").textContent = `Settings of the run that made ${up.name}: ${translator.name}`
      + (made.weights ? ` with ${made.weights}` : "");
    $("#cv-restored").hidden = false;
  }

  function uploadedRow(row, up) {
    const remove = () => {
      uploads.splice(uploads.indexOf(up), 1);
      row.remove();
      form.refreshFiles();
    };
    row.className = "";
    row.replaceChildren(el("img", { src: up.url, alt: "" }), el("span", { class: "name", text: up.name }),
      el("span", { class: "muted", text: `${up.width}×${up.height}` + (up.frames ? `, ${up.frames} frames` : "") }),
      el("button", { type: "button", class: "icon", title: "remove", text: "×", onclick: remove }));
  }

  async function addFiles(files) {
    for (const file of files) {
      const row = el("li", { class: "pending" }, el("span", { class: "name", text: file.name }),
        el("span", { class: "muted", text: "uploading…" }));
      list.append(row);
      try {
        const up = await uploadImage(file, file.name);
        uploads.push(up);
        uploadedRow(row, up);
        restore(up);
        form.refreshFiles();
      } catch (err) {
        row.className = "bad";
        row.replaceChildren(el("span", { class: "name", text: err.message }),
          el("button", { type: "button", class: "icon", title: "dismiss", text: "×", onclick: () => row.remove() }));
      }
    }
  }

  const input = $("#cv-files-input");
  $("#cv-choose").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = "";
  });
  const drop = $("#cv-drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    addFiles([...event.dataTransfer.files]);
  });

  function showResults(job, final) {
    const items = job.results.flatMap((r) => r.outputs.map((o) => ({
      name: o.name, before: r.input, after: o.url, bicubic: r.bicubic, width: o.width, height: o.height,
      video: o.video })));
    if (items.length !== shown || final) {
      thumbs.replaceChildren(...items.map((item, i) => el("figure", { class: "thumb" },
        el("button", { type: "button", title: item.video ? "play" : "compare with the input", onclick: () => pick(i) },
          item.video ? el("video", { src: item.after, muted: true, preload: "metadata" })
            : el("img", { src: item.after, alt: item.name })),
        el("figcaption", {}, el("a", { href: item.after, download: item.name, text: item.name })))));
      if (items.length && (!shown || final)) pick(Math.min(selected, items.length - 1));
      shown = items.length;
    }
    $("#cv-count").textContent = items.length ? `${items.length} result(s)` : "No results.";
    zip.hidden = !(final && items.length);
    zip.href = inSession(`/jobs/${job.id}/zip`);

    function pick(i) {
      selected = i;
      thumbs.querySelectorAll(".thumb").forEach((t, k) => t.classList.toggle("on", k === i));
      const item = items[i];
      player.hidden = !item.video;
      if (item.video) {  // a video plays as it is; the viewer compares still images
        compare.clear();
        player.replaceChildren(el("video", { src: item.after, controls: true, loop: true }),
          el("p", {}, el("a", { class: "button", href: item.after, download: item.name, text: `Download ${item.name}` })));
      } else {
        player.replaceChildren();
        compare.show(item);
      }
    }
  }

  run.addEventListener("click", async () => {
    if (!uploads.length) {
      status.error("add at least one image");
      return;
    }
    const translator = current();
    run.disabled = true;
    shown = 0;
    selected = 0;
    thumbs.replaceChildren();
    compare.clear();
    player.hidden = true;
    player.replaceChildren();
    zip.hidden = true;
    const job = await runJob({
      kind: "convert", translator: translator.name, weights: weights.value || null,
      options: form.values(), seed: translator.stochastic ? $("#cv-seed").value || null : null,
      inputs: uploads.map((u) => u.id),
    }, status, (snapshot) => showResults(snapshot, false));
    run.disabled = false;
    if (job) showResults(job, true);
  });
}
