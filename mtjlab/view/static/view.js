// mtjlab view: the runs of the stores and the selected run's figures, asked for again every
// few seconds; in an exported page (window.MTJLAB_STATE set) everything is already here.
"use strict";

const exported = window.MTJLAB_STATE;
let selected = decodeURIComponent(location.hash.slice(1)) || null;
// Until a run is clicked (or named in the address), the page follows the running one.
let chosen = selected !== null;
let refreshS = 1.0;

function el(tag, attrs = {}, text = null) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

function utc(text) {
  return text ? text.slice(0, 19).replace("T", " ") : "";
}

function duration(s) {
  if (s === null || s === undefined) return "";
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

function unitsText(run) {
  const planned = run.units_planned === null ? "" : ` of ${run.units_planned}`;
  return `${run.units_done}${planned} units`;
}

function progressCell(run) {
  const td = el("td", { class: "progress" });
  if (run.progress !== null) {
    const bar = el("span", { class: "bar" });
    const fill = el("span");
    fill.style.width = `${(100 * run.progress).toFixed(1)}%`;
    bar.appendChild(fill);
    td.appendChild(bar);
  }
  td.appendChild(el("span", { class: "units" }, unitsText(run)));
  return td;
}

function renderRuns(runs) {
  const body = document.querySelector("#runs tbody");
  body.replaceChildren();
  document.getElementById("no-runs").hidden = runs.length > 0;
  for (const run of runs) {
    const tr = el("tr", { "data-key": run.key });
    if (run.key === selected) tr.classList.add("selected");
    tr.append(
      el("td", {}, run.store_name),
      el("td", { class: "number" }, String(run.id)),
      el("td", { class: "kind" }, run.kind),
    );
    const status = el("td");
    status.appendChild(el("span", { class: `status ${run.status}` }, run.status));
    tr.append(
      status,
      progressCell(run),
      el("td", { class: "number records" }, String(run.records)),
      el("td", { class: "time-left" }, duration(run.time_left_s)),
      el("td", {}, utc(run.started)),
      el("td", {}, utc(run.ended)),
      el("td", {}, run.bench),
    );
    tr.addEventListener("click", () => select(run.key));
    body.appendChild(tr);
  }
}

function renderRun(details) {
  const run = details.run;
  document.getElementById("run").hidden = false;
  document.getElementById("run-title").textContent =
    `run ${run.id} of ${run.store_name}: ${run.kind}, ${run.status}`;
  document.getElementById("run-line").textContent =
    `${run.records} records, ${unitsText(run)}` +
    (run.time_left_s !== null ? `, about ${duration(run.time_left_s)} left` : "") +
    `; ${run.bench}; seed ${run.seed}`;
  document.getElementById("note").textContent = details.note;
  const box = document.getElementById("figures");
  const wanted = new Set(details.figures.map((f) => f.name));
  for (const figure of [...box.children]) {
    if (!wanted.has(figure.dataset.name)) figure.remove();
  }
  for (const f of details.figures) {
    let figure = box.querySelector(`figure[data-name="${CSS.escape(f.name)}"]`);
    if (!figure) {
      figure = el("figure", { "data-name": f.name });
      figure.append(el("img", { alt: f.name }), el("figcaption", {}, f.name));
      box.appendChild(figure);
    }
    const img = figure.querySelector("img");
    if (img.getAttribute("src") !== f.src) img.setAttribute("src", f.src);
  }
}

function select(key) {
  selected = key;
  chosen = true;
  history.replaceState(null, "", `#${encodeURIComponent(key)}`);
  for (const tr of document.querySelectorAll("#runs tbody tr")) {
    tr.classList.toggle("selected", tr.dataset.key === key);
  }
  if (exported) {
    renderRun(exported.details[key]);
  } else {
    document.getElementById("figures").replaceChildren();
    refresh();
  }
}

function firstChoice(runs) {
  const running = runs.find((r) => r.status === "running");
  return (running || runs[0] || {}).key || null;
}

async function getJson(url) {
  const answer = await fetch(url, { cache: "no-store" });
  const body = await answer.json();
  if (!answer.ok) throw new Error(body.error || answer.statusText);
  return body;
}

let timer = null;

async function refresh() {
  clearTimeout(timer);
  const updated = document.getElementById("updated");
  try {
    const listing = await getJson("/api/runs");
    refreshS = listing.refresh_s;
    document.getElementById("stores").textContent =
      "stores: " + listing.stores.map((s) => s.name).join(", ");
    if (!chosen || !listing.runs.some((r) => r.key === selected)) {
      selected = firstChoice(listing.runs);
    }
    renderRuns(listing.runs);
    if (selected) renderRun(await getJson(`/api/runs/${selected}`));
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    updated.classList.remove("error");
  } catch (err) {
    updated.textContent = `cannot reach the view: ${err.message}; trying again`;
    updated.classList.add("error");
  }
  timer = setTimeout(refresh, 1000 * refreshS);
}

if (exported) {
  document.getElementById("stores").textContent = `exported ${utc(exported.exported)} UTC`;
  selected = exported.selected;
  renderRuns(exported.runs);
  renderRun(exported.details[selected]);
} else {
  refresh();
}
