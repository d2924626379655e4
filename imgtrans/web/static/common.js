// What every page shares: the session, calls to the server, jobs with their progress, the
// options form built from a translator's options dataclass, and small DOM helpers.
// The server does all the work; pages only collect inputs and show results.

export const app = { sid: null, catalog: null };

export const $ = (selector, root = document) => root.querySelector(selector);

/** A DOM element: attrs may hold class, text, on<event> handlers and plain attributes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value != null) node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Call the server; a refusal becomes an Error carrying the server's one-line message. */
export async function api(path, { method = "GET", json, body } = {}) {
  const init = { method, headers: {} };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
    init.headers["Content-Type"] = "application/octet-stream";
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

export const inSession = (path = "") => `/api/s/${app.sid}${path}`;

export async function startSession() {
  app.catalog = await api("/api/catalog");
  app.sid = (await api("/api/sessions", { method: "POST" })).id;
  setInterval(() => api(inSession()).catch(() => {}), 60_000);  // keeps the files while open
  // a keepalive fetch is a CORS-mode request: it always carries the page's Origin, which the server requires
  addEventListener("pagehide", () => fetch(inSession("/close"), { method: "POST", keepalive: true }).catch(() => {}));
}

export const translators = (test) => app.catalog.translators.filter(test);

/** Send an image (File or Blob); the server decodes it as `imgtrans convert` would. */
export async function uploadImage(blob, name) {
  const limit = app.catalog.limits.max_upload_bytes;
  if (blob.size > limit) throw new Error(`${name}: too large: more than the upload limit of ${limit} bytes`);
  return api(inSession(`/uploads?name=${encodeURIComponent(name)}`), { method: "POST", body: blob });
}

/** Progress, queue place and the one-line messages of a job, in a page's status box. */
export class Status {
  constructor(root, cancelButton = null) {
    this.root = root;
    this.root.classList.add("status");
    this.bar = el("progress", { max: 1, value: 0 });
    this.text = el("span", { class: "msg" });
    this.list = el("ul", { class: "errors" });
    this.root.append(this.bar, this.text, this.list);
    this.cancel = cancelButton;
    this.jobId = null;
    if (cancelButton) {
      cancelButton.addEventListener("click", () => {
        if (this.jobId) api(inSession(`/jobs/${this.jobId}/cancel`), { method: "POST" }).catch(() => {});
      });
    }
    this.set("idle", "", 0);
  }

  set(state, message, progress = null, errors = []) {
    this.root.dataset.state = state;
    this.text.textContent = message;
    if (progress === null) this.bar.removeAttribute("value");
    else this.bar.value = progress;
    this.bar.hidden = state === "idle";
    this.list.replaceChildren(...errors.map((line) => el("li", { text: line })));
    if (this.cancel) this.cancel.disabled = !(state === "queued" || state === "running");
  }

  error(message) { this.set("failed", "", 0, [message]); }

  show(job) {
    // a video's frames count inside its item: "converting clip.mp4 12/40 frames"
    const frames = job.frames && job.frames[0] < job.frames[1] ? job.frames : null;
    const count = frames ? ` ${frames[0]}/${frames[1]} frames` : job.total ? ` ${job.done}/${job.total}` : "";
    const messages = {
      queued: `queued: ${job.ahead} job(s) ahead`,
      running: `${job.stage}${count}`,
      done: `done in ${job.seconds.toFixed(1)} s` + (job.errors.length ? ` (${job.errors.length} failed)` : ""),
      failed: "failed",
      cancelled: "cancelled",
    };
    const inside = frames ? frames[0] / frames[1] : 0;
    const progress = job.state === "running" ? (job.total ? (job.done + inside) / job.total : null) : job.state === "done" ? 1 : 0;
    this.set(job.state, messages[job.state] || job.state, progress,
      job.error ? [job.error, ...job.errors] : job.errors);
  }
}

/** Queue a job and follow it until it ends (onUpdate sees every snapshot); the final
 *  snapshot, or null when the server refused the job. */
export async function runJob(body, status, onUpdate = null) {
  status.set("queued", "sending", null);
  let job;
  try {
    const { id } = await api(inSession("/jobs"), { method: "POST", json: body });
    status.jobId = id;
    for (;;) {
      job = await api(inSession(`/jobs/${id}`));
      status.show(job);
      if (onUpdate) onUpdate(job);
      if (job.state !== "queued" && job.state !== "running") return job;
      await sleep(job.state === "queued" ? 500 : 200);
    }
  } catch (err) {
    status.error(err.message);
    return null;
  } finally {
    status.jobId = null;
  }
}

/** Fill a weights <select>: bundled weights marked, downloads said, unusable ones disabled. */
export function fillWeights(select, translator) {
  const items = [];
  if (!translator.requires_weights) items.push(el("option", { value: "", text: "(none needed)" }));
  for (const w of translator.weights) {
    const note = { bundled: "bundled", cached: "downloaded", download: "downloads on first use",
      unavailable: "not downloadable" }[w.source];
    items.push(el("option", { value: w.name, text: `${w.name} (${note})`, title: w.description,
      disabled: w.source === "unavailable", selected: w.default }));
  }
  if (!items.length) items.push(el("option", { value: "", text: "(no weights known)" }));
  select.replaceChildren(...items);
}

/** The first clause of a help text (up to ";" or ". "), for a one-line hint. */
export function oneLine(text) {
  const cut = text.search(/; |\. |: [a-z]+ =/);
  const first = cut > 0 ? text.slice(0, cut) : text;
  return first.length > 90 ? `${first.slice(0, first.lastIndexOf(" ", 88))}…` : first;
}

/** What the chosen weights were trained on: the registry's words in `hint` ("" when it does
 *  not say) and, in `row`, the example images of their domain the server has (bundled demo
 *  weights; none for published ones, and then the row is hidden). */
export function showTrainedOn(hint, row, translator, name) {
  const w = translator.weights.find((x) => x.name === name) || translator.weights.find((x) => x.default);
  hint.textContent = w && w.trained_on ? `Trained on ${w.trained_on}.` : "";
  const count = (w && w.examples) || 0;
  const query = (n) => new URLSearchParams({ translator: translator.name, weights: w.name, n });
  row.replaceChildren(...Array.from({ length: count }, (_, n) => el("img", {
    src: `/api/examples?${query(n)}`, alt: `training example ${n + 1} of ${w.name}`,
    title: `what ${w.name} was trained on (example ${n + 1} of ${count})` })));
  row.hidden = !count;
}

const asText = (value) => (value === null || value === undefined ? "" : String(value));

/** Form fields generated from a translator's options (type, default, help, choices, range).
 *  values() gives what differs from the defaults, as `--opt` strings; an option that takes
 *  a file offers the page's uploads. */
export function optionsForm(root, translator, { skip = [], uploads = () => [] } = {}) {
  root.replaceChildren();
  const fields = [];
  for (const option of translator.options) {
    if (skip.includes(option.name)) continue;
    let input;
    if (option.file) {
      input = el("select", { "data-file": true });
    } else if (option.choices) {
      const unset = option.default === null ? [el("option", { value: "", text: "(default)" })] : [];
      input = el("select", {}, ...unset, ...option.choices.map((c) =>
        el("option", { value: String(c), text: String(c), selected: c === option.default })));
    } else if (option.type === "bool") {
      input = el("input", { type: "checkbox", checked: Boolean(option.default) });
    } else if (option.type === "int" || option.type === "float") {
      input = el("input", { type: "number", step: option.type === "int" ? "1" : "any",
        value: asText(option.default), placeholder: option.default === null ? "none" : "",
        min: option.min, max: option.max });
    } else {
      input = el("input", { type: "text", value: asText(option.default), maxlength: option.max_length });
    }
    input.name = option.name;
    const range = option.min != null && option.max != null ? `${option.min} to ${option.max}` : "";
    const help = [option.help, range && `(${range})`].filter(Boolean).join(" ");
    const short = oneLine(help);
    const label = el("label", { class: option.type === "bool" ? "field check" : "field", title: help },
      option.type === "bool" ? input : option.name, option.type === "bool" ? option.name : input,
      short ? el("small", { text: short }) : "");
    // one line of help; the whole of it on demand
    const more = short !== help ? el("details", { class: "more" }, el("summary", { text: "more" }),
      el("p", { class: "hint", text: help })) : "";
    root.append(el("div", { class: "option" }, label, more));
    fields.push({ option, input });
  }
  const form = {
    values() {
      const out = {};
      for (const { option, input } of fields) {
        if (option.file) {
          if (input.value) out[option.name] = { upload: input.value };
          continue;
        }
        const value = option.type === "bool" ? String(input.checked) : input.value.trim();
        const fallback = option.type === "bool" ? String(Boolean(option.default)) : asText(option.default);
        if (value !== fallback) out[option.name] = value === "" && option.type !== "str" ? "none" : value;
      }
      return out;
    },
    /** Set fields from `--opt` values (e.g. a run's record); unknown names are ignored. */
    set(values = {}) {
      for (const { option, input } of fields) {
        if (option.file || !(option.name in values)) continue;
        const value = values[option.name];
        if (option.type === "bool") input.checked = value === true || ["true", "1", "yes", "on"].includes(String(value).toLowerCase());
        else input.value = value === null ? "" : String(value);
      }
    },
    refreshFiles() {
      for (const { option, input } of fields) {
        if (!option.file) continue;
        const chosen = input.value;
        input.replaceChildren(el("option", { value: "", text: "(none)" }),
          ...uploads().map((u) => el("option", { value: u.id, text: u.name, selected: u.id === chosen })));
      }
    },
  };
  form.refreshFiles();
  if (!fields.length) root.append(el("p", { class: "hint", text: "No options." }));
  return form;
}

/** Save a Blob as a file, as a link with `download` would. */
export function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A canvas as a PNG Blob. */
export const canvasBlob = (canvas) => new Promise((resolve) => canvas.toBlob(resolve, "image/png"));

/** Shown size of an image: small ones enlarged by a whole factor (pixels stay crisp),
 *  large ones reduced, to about `size` pixels on the longer side. */
export function shownSize(width, height, size) {
  const longer = Math.max(width, height);
  const f = longer > size ? size / longer : Math.max(1, Math.floor(size / longer));
  return [Math.round(width * f), Math.round(height * f)];
}

/** The shown size of a job's samples (and `extra` more, e.g. the guide) side by side in
 *  `root`: as many in a row as fit at 128 px or more (all when they can), each as large as
 *  its share of the row, at most 256 px. */
export function rowSize(root, job, extra = 0) {
  const count = job.results.reduce((n, r) => n + r.outputs.length, 0) + extra || 1;
  const perRow = Math.min(count, Math.max(1, Math.floor((root.clientWidth + 10) / 138)));
  return Math.max(96, Math.min(256, Math.floor((root.clientWidth - 10 * (perRow - 1)) / perRow) - 4));
}

/** Result images of a job next to `lead` (e.g. the guide), each with a download link, and
 *  the zip of them all. */
export function showSamples(root, job, { size = 192, lead = null } = {}) {
  const items = [];
  if (lead) items.push(lead);
  for (const result of job.results) {
    for (const out of result.outputs) {
      const [width, height] = shownSize(out.width, out.height, size);
      const img = el("img", { src: out.url, alt: out.name, width, height });
      items.push(el("figure", { class: "sample" }, img,
        el("figcaption", {}, el("a", { href: out.url, download: out.name, text: out.name }))));
    }
  }
  if (job.results.length) {
    items.push(el("p", { class: "zip" }, el("a", { class: "button", href: inSession(`/jobs/${job.id}/zip`),
      download: `imgtrans-${job.id}.zip`, text: "Download all (.zip)" })));
  }
  root.replaceChildren(...items);
}
