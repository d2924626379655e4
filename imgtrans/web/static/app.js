// The shell: start a session, then show one page per task (a tab each, chosen by the URL
// fragment); a page is set up the first time it is shown.

import { $, app, startSession } from "./common.js";
import { initConvert } from "./convert.js";
import { initLayout } from "./layout.js";
import { initPaint } from "./paint.js";

const pages = { convert: initConvert, layout: initLayout, paint: initPaint };
const started = new Set();

function showPage() {
  const wanted = location.hash.slice(1);
  const name = wanted in pages ? wanted : "convert";
  for (const key of Object.keys(pages)) {
    $(`#page-${key}`).hidden = key !== name;
    $(`[data-tab="${key}"]`).setAttribute("aria-selected", String(key === name));
  }
  if (!started.has(name)) {
    started.add(name);
    Promise.resolve(pages[name]()).catch((err) => fatal(`${name}: ${err.message}`));
  }
  document.body.dataset.page = name;
}

function fatal(message) {
  const box = $("#fatal");
  box.textContent = message;
  box.hidden = false;
}

async function main() {
  try {
    await startSession();
  } catch (err) {
    fatal(`cannot reach the imgtrans server: ${err.message}`);
    return;
  }
  $("#version").textContent = `imgtrans ${app.catalog.version}`;
  addEventListener("hashchange", showPage);
  showPage();
  document.body.dataset.ready = "true";
}

main();
