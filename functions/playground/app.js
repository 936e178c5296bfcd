// The playground: plain browser JavaScript over the public HTTP API (functions/README.md).
// One script of about 450 lines (over the house's 400) so the page needs no build step; the
// in-browser sampling lives in in_browser.js.
// The API key lives in `apiKey` only (never stored); every error the API answers
// ({error: {code, message}}) is shown in #error.
"use strict";

/** The typed API key ("" when the server has none). */
let apiKey = "";
/** Reference files chosen for the next training. */
let refs = [];
/** Aborts the training stream in flight. */
let training = null;
/** Distribution ids ticked for sampling, in tick order. */
const picked = new Set();
/** Mix weights by id (0–1 sliders). */
const weights = new Map();
/** Each listed distribution's model, by id (the in-browser sampler loads that model). */
const modelOf = new Map();

const $ = (id) => document.getElementById(id);

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

/** The API's error message of a failed response (or what went wrong reading it). */
async function errorText(res) {
  let body = null;
  try {
    body = await res.json();
  } catch { /* not JSON */ }
  if (body && body.error && body.error.message) {
    return `${body.error.message} (${body.error.code}, HTTP ${res.status})`;
  }
  return `HTTP ${res.status} ${res.statusText}`;
}

/** fetch with the key; throws an Error carrying the API's message when the answer is not ok. */
async function api(path, init = {}) {
  const headers = new Headers(init.headers || {});
  if (apiKey) headers.set("Authorization", `Bearer ${apiKey}`);
  let res;
  try {
    res = await fetch(path, { ...init, headers });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new Error(`The server could not be reached (${e.message}).`);
  }
  if (!res.ok) throw new Error(await errorText(res));
  return res;
}

/** Runs `work`, showing its error (an abort is not one). */
async function guarded(work) {
  clearError();
  try {
    await work();
  } catch (e) {
    if (e.name !== "AbortError") showError(e.message);
  }
}

// --- models ---------------------------------------------------------------------------------

async function loadModels() {
  const select = $("model");
  const { models } = await (await api("/v1/models")).json();
  select.replaceChildren(...models.map((m) => {
    const o = document.createElement("option");
    o.value = m.name;
    o.textContent = m.default ? `${m.name} (default)` : m.name;
    o.selected = m.default;
    return o;
  }));
}

async function connect() {
  apiKey = $("key").value.trim();
  await guarded(async () => {
    await loadModels();
    await loadDistributions();
  });
}

// --- references -----------------------------------------------------------------------------

function setRefs(files) {
  refs = [...files];
  $("refs").replaceChildren(...refs.map((f) => {
    const fig = document.createElement("figure");
    if (f.type.startsWith("image/")) {
      const img = document.createElement("img");
      img.src = URL.createObjectURL(f);
      img.alt = f.name;
      fig.append(img);
    }
    const cap = document.createElement("figcaption");
    cap.textContent = f.name;
    fig.append(cap);
    return fig;
  }));
  $("progress-text").textContent = `${refs.length} reference file(s) chosen`;
}

// --- training (SSE over a POST: read the stream by hand) ------------------------------------

/** Splits a text/event-stream body into {event, data} as blocks arrive. */
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

function intOf(id) {
  return Number.parseInt($(id).value, 10);
}

async function train() {
  const form = new FormData();
  for (const f of refs) form.append("images", f, f.name);
  form.append("model", $("model").value);
  form.append(
    "options",
    JSON.stringify({
      steps: intOf("steps"),
      k: intOf("k"),
      m: intOf("m"),
      batch_size: intOf("batch"),
    }),
  );
  const every = intOf("preview-every");
  if (every > 0) form.append("preview_every", String(every));
  training = new AbortController();
  $("train-go").disabled = true;
  $("train-stop").disabled = false;
  $("previews").replaceChildren();
  $("progress").value = 0;
  $("progress-text").textContent = "uploading…";
  try {
    const res = await api("/v1/distributions", {
      method: "POST",
      body: form,
      headers: { Accept: "text/event-stream" },
      signal: training.signal,
    });
    for await (const { event, data } of sseEvents(res.body)) {
      if (event === "progress") {
        $("progress").value = data.step / data.steps;
        const eta = Math.round(data.eta_seconds ?? 0);
        $("progress-text").textContent = `step ${data.step}/${data.steps} · loss ${
          data.loss.toFixed(4)
        } · ${eta} s left`;
      } else if (event === "preview") {
        const fig = document.createElement("figure");
        const img = document.createElement("img");
        img.src = `data:image/png;base64,${data.png_base64}`;
        img.alt = `preview at step ${data.step}`;
        const cap = document.createElement("figcaption");
        cap.textContent = `step ${data.step}`;
        fig.append(img, cap);
        $("previews").append(fig);
      } else if (event === "done") {
        $("progress").value = 1;
        $("progress-text").textContent = `done: ${data.manifest.id}`;
        // the new distribution is the one to sample next
        picked.clear();
        picked.add(data.manifest.id);
        await loadDistributions();
      } else if (event === "error") {
        const err = data.error || {};
        throw new Error(`${err.message} (${err.code})`);
      }
    }
  } finally {
    training = null;
    $("train-go").disabled = false;
    $("train-stop").disabled = true;
    if (!$("progress-text").textContent.startsWith("done")) {
      $("progress-text").textContent = "stopped";
    }
  }
}

// --- distributions --------------------------------------------------------------------------

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", () => guarded(onClick));
  return b;
}

async function loadDistributions() {
  const items = [];
  let after = null;
  do {
    const q = after ? `?limit=100&after=${encodeURIComponent(after)}` : "?limit=100";
    const page = await (await api(`/v1/distributions${q}`)).json();
    items.push(...page.items);
    after = page.next;
  } while (after);
  for (const id of [...picked]) if (!items.some((d) => d.id === id)) picked.delete(id);
  for (const d of items) modelOf.set(d.id, d.model.name);
  $("dist-list").replaceChildren(...items.map((d) => {
    const tr = document.createElement("tr");
    tr.dataset.id = d.id;
    const use = document.createElement("input");
    use.type = "checkbox";
    use.checked = picked.has(d.id);
    use.addEventListener("change", () => {
      if (use.checked) picked.add(d.id);
      else picked.delete(d.id);
      renderWeights();
    });
    const useTd = document.createElement("td");
    useTd.append(use);
    const idTd = document.createElement("td");
    const code = document.createElement("code");
    code.textContent = d.id;
    idTd.append(code);
    const actions = document.createElement("td");
    actions.append(
      button("Export TI", () => exportTi(d.id)),
      button("Delete", () => remove(d.id)),
    );
    const loss = d.final_loss == null ? "–" : Number(d.final_loss).toFixed(4);
    tr.append(
      useTd,
      idTd,
      cell(d.model.name),
      cell(`${d.k}×${d.m}`),
      cell(String(d.reference_count)),
      cell(loss),
      actions,
    );
    return tr;
  }));
  renderWeights();
}

async function remove(id) {
  if (!confirm(`Delete ${id}?`)) return;
  await api(`/v1/distributions/${encodeURIComponent(id)}`, { method: "DELETE" });
  picked.delete(id);
  await loadDistributions();
}

/** Saves a Blob under `name` through a temporary link. */
function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

async function exportTi(id) {
  const res = await api(`/v1/distributions/${encodeURIComponent(id)}/textual_inversion`);
  const disposition = res.headers.get("Content-Disposition") || "";
  const m = /filename="?([^";]+)"?/.exec(disposition);
  const zip = (res.headers.get("Content-Type") || "").includes("zip");
  download(await res.blob(), m ? m[1] : `${id}${zip ? ".zip" : ".safetensors"}`);
}

// --- sampling -------------------------------------------------------------------------------

function renderWeights() {
  const box = $("weights");
  for (const id of weights.keys()) if (!picked.has(id)) weights.delete(id);
  if (picked.size < 2) {
    box.replaceChildren();
    return;
  }
  box.replaceChildren(...[...picked].map((id) => {
    if (!weights.has(id)) weights.set(id, 0.5);
    const label = document.createElement("label");
    const slider = document.createElement("input");
    slider.type = "range";
    slider.min = "0.05";
    slider.max = "1";
    slider.step = "0.05";
    slider.value = String(weights.get(id));
    slider.dataset.id = id;
    const out = document.createElement("output");
    out.textContent = Number(slider.value).toFixed(2);
    slider.addEventListener("input", () => {
      weights.set(id, Number(slider.value));
      out.textContent = Number(slider.value).toFixed(2);
    });
    const name = document.createElement("code");
    name.textContent = id;
    name.title = id;
    label.append(name, slider, out);
    return label;
  }));
}

/** Where samples are drawn: "server" or "browser" (the switch beside the Sample button). */
function where() {
  return document.querySelector('input[name="where"]:checked').value;
}

/** A sample's figure: the image (an <img> or a <canvas>) and its PNG link. */
function figure(image, pngUrl, name) {
  const fig = document.createElement("figure");
  const a = document.createElement("a");
  a.href = pngUrl;
  a.download = name;
  a.textContent = "PNG";
  fig.append(image, a);
  return fig;
}

async function onServer(body, tag) {
  const res = await api("/v1/samples", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const out = await res.json();
  return out.images.map((im, i) => {
    const img = document.createElement("img");
    img.src = `data:image/png;base64,${im.png_base64}`;
    img.alt = `sample ${i}`;
    return figure(img, img.src, `sample-${tag}-${i}.png`);
  });
}

async function inBrowser(body, tag) {
  const { sampleInBrowser } = await import("./in_browser.js");
  const out = await sampleInBrowser(body, modelOf.get(body.distribution), api);
  $("sample-status").dataset.provider = out.provider;
  $("sample-status").dataset.cold = String(out.cold);
  return out.canvases.map((canvas, i) => {
    canvas.setAttribute("aria-label", `sample ${i}`);
    return figure(canvas, canvas.toDataURL("image/png"), `sample-${tag}-${i}.png`);
  });
}

async function sample() {
  if (picked.size === 0) throw new Error("Tick a distribution in the list first.");
  const body = {
    gamma: Number($("gamma").value),
    n: intOf("n"),
    steps: intOf("sample-steps"),
    seed: intOf("seed"),
  };
  if (picked.size === 1) body.distribution = [...picked][0];
  else body.mix = [...picked].map((id) => ({ id, weight: weights.get(id) ?? 0.5 }));
  const template = $("template").value.trim();
  if (template) body.template = template;
  const status = $("sample-status");
  $("sample-go").disabled = true;
  status.textContent = "sampling…";
  const place = where();
  const t0 = performance.now();
  try {
    const tag = `g${body.gamma}-seed${body.seed}`;
    const figures = place === "browser" ? await inBrowser(body, tag) : await onServer(body, tag);
    const ms = performance.now() - t0;
    $("samples").replaceChildren(...figures);
    const what = body.mix ? `mix of ${body.mix.length}` : body.distribution;
    Object.assign(status.dataset, { where: place, ms: ms.toFixed(0), images: body.n });
    status.textContent = `gamma ${body.gamma.toFixed(2)} · seed ${body.seed} · ${what} · ${
      place === "browser" ? `in browser (${status.dataset.provider})` : "on server"
    } · ${body.n} in ${(ms / 1000).toFixed(2)} s`;
  } catch (e) {
    status.textContent = "";
    throw e;
  } finally {
    $("sample-go").disabled = false;
  }
}

/** In-browser mode: the gamma slider re-renders (the latest value once the current is done). */
let rendering = null;
let again = false;
function rerender() {
  if (where() !== "browser" || picked.size !== 1) return;
  if (rendering) {
    again = true;
    return;
  }
  rendering = guarded(sample).finally(() => {
    rendering = null;
    if (again) {
      again = false;
      rerender();
    }
  });
}

// --- wiring ---------------------------------------------------------------------------------

function init() {
  $("connect").addEventListener("click", connect);
  $("key").addEventListener("keydown", (e) => {
    if (e.key === "Enter") connect();
  });
  $("files").addEventListener("change", () => setRefs($("files").files));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    setRefs(e.dataTransfer.files);
  });
  $("train-go").addEventListener("click", () => guarded(train));
  $("train-stop").addEventListener("click", () => training && training.abort());
  $("refresh").addEventListener("click", () => guarded(loadDistributions));
  $("gamma").addEventListener("input", () => {
    $("gamma-value").textContent = Number($("gamma").value).toFixed(2);
    rerender();
  });
  $("sample-go").addEventListener("click", () => guarded(sample));
  connect();
}

init();
