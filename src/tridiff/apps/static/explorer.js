// The explorer's page: asks the server (/api/...) and draws what it answers with uPlot.
// Every text that comes from a formula is set as text, never as markup.
"use strict";

const S = JSON.parse(document.getElementById("strings").textContent);
const $ = (id) => document.getElementById(id);
const COLOURS = { f: "#d62728", symbolic: "#1f77b4", automatic: "#2ca02c", numeric: "#ff7f0e" };
const DASHES = { symbolic: [], automatic: [8, 5], numeric: [2, 4] };
const SCHEME_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

let plot = null, errorsPlot = null, study = null, home = null;
const pending = {};

function params(extra) {
  const q = new URLSearchParams({ f: $("formula").value, lang: S.lang, ...extra });
  return q.toString();
}

// One request per kind at a time: a newer one aborts the older, so answers never arrive out of order.
async function ask(kind, extra) {
  if (pending[kind]) pending[kind].abort();
  const control = (pending[kind] = new AbortController());
  const response = await fetch(`api/${kind}?${params(extra)}`, { signal: control.signal });
  const json = (response.headers.get("content-type") || "").includes("application/json");
  const body = json ? await response.json() : { error: `${response.status} ${response.statusText}` };
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function showError(err) {
  if (err && err.name === "AbortError") return;
  const box = $("error");
  box.hidden = !err;
  box.textContent = err ? err.message : "";
  document.body.classList.toggle("failed", Boolean(err));
}

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value ?? "";
  if (cls) el.className = cls;
  return el;
}

function maths(uri, latex) {
  if (!uri) return text("code", latex);
  const img = document.createElement("img");
  img.className = "maths";
  img.src = uri;
  img.alt = latex;
  return img;
}

function number(v) {
  if (v === null || v === undefined) return "NaN";
  const [mantissa, exponent] = Number(v).toPrecision(10).split("e");
  const digits = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;  // 10 digits, no trailing zeros
  return exponent ? `${digits}e${exponent}` : digits;
}

function range() {
  return { lo: Number($("lo").value), hi: Number($("hi").value), at: Number($("at").value) };
}

// -- f and f' --------------------------------------------------------------------------------------
async function refresh() {
  const { lo, hi, at } = range();
  document.body.classList.add("busy");
  try {
    await Promise.all([
      ask("explore", { lo, hi, at }).then(drawExplore),
      ask("inside", { at }).then(drawInside),
      ask("steps", { at }).then(drawStudy),
    ]);
    showError(null);
  } catch (err) {
    showError(err);
  } finally {
    document.body.classList.remove("busy");
  }
}

function drawExplore(r) {
  const formulas = $("formulas");
  formulas.replaceChildren(text("span", "f(x) = "), maths(r.svg, r.function));
  if (r.derivative) {
    formulas.append(document.createElement("br"), text("span", S.derivative + " "), maths(r.derivative.svg, r.derivative.text));
  }
  const kinkLeft = r.x.map(() => null), kinkRight = r.x.map(() => null);
  for (const k of r.kinks) {
    const i = r.x.indexOf(k.x);
    if (i >= 0) { kinkLeft[i] = k.left; kinkRight[i] = k.right; }
  }
  const data = [r.x, r.f, ...r.methods.map((m) => m.values), kinkLeft, kinkRight];
  const series = [
    { label: "x" },
    { label: S.f, stroke: COLOURS.f, width: 2, gaps: wideGaps },
    ...r.methods.map((m) => ({ label: "f'(x) " + m.label, stroke: COLOURS[m.method], dash: DASHES[m.method],
                               width: m.method === "symbolic" ? 3 : 2, gaps: wideGaps })),
    ...["", ""].map((_, i) => ({ label: i ? "" : S.kink, stroke: COLOURS.symbolic, width: 0, paths: () => null,
                                 points: { show: true, size: 10, width: 2, fill: "#fff", stroke: COLOURS.symbolic } })),
  ];
  if (plot) plot.destroy();
  plot = new uPlot({ width: chartWidth(), height: 380, series, scales: { x: { time: false } },
                     cursor: { drag: { x: true, y: false, setScale: false },
                               // Shift + drag pans (below): uPlot's own selection ignores it
                               bind: { mousedown: (u, target, handler) => (e) => (e.shiftKey ? null : handler(e)) } },
                     hooks: { setSelect: [zoomToSelection] }, plugins: [wheelAndPan()] }, data, $("plot"));
  plot.root.dataset.points = String(r.x.length);
  const rows = plot.root.querySelectorAll(".u-legend .u-series");
  rows[rows.length - 1].style.display = "none";  // the right-hand limits: one legend entry for both sides
  drawValues(r.at);
}

// A NaN breaks a line (a kink, a pole): the break is widened by a few pixels, or a thick line's
// clipped ends leave a sliver joining the two sides.
function wideGaps(u, seriesIndex, first, last, gaps) {
  return gaps.map(([a, b]) => [a - 3, b + 3]);
}

function drawValues(at) {
  $("values-title").textContent = S.x_at.replace("{x}", number(at.x)) + "   (" + S.f_at.replace("{value}", number(at.f)) + ")";
  const body = $("values").tBodies[0];
  body.replaceChildren(...at.rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.method = row.method;
    if (!row.available) {
      tr.append(text("td", row.label), text("td", S.not_available), text("td", ""), text("td", ""), text("td", ""),
                text("td", row.reason));
    } else {
      tr.append(text("td", row.label), text("td", number(row.value), "value"), text("td", number(row.left)),
                text("td", number(row.right)), text("td", row.error_estimate === null ? "" : number(row.error_estimate)),
                text("td", row.reason || "-"));
    }
    return tr;
  }));
}

function zoomToSelection(u) {
  if (u.select.width < 4) return;
  const lo = u.posToVal(u.select.left, "x"), hi = u.posToVal(u.select.left + u.select.width, "x");
  u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
  setRange(lo, hi);
}

// Wheel: zoom about the cursor; Shift + drag: pan; double-click: back to the range last typed.
function wheelAndPan() {
  return { hooks: { ready: (u) => {
    const over = u.over;
    over.addEventListener("wheel", (e) => {
      e.preventDefault();  // the range changes at once; the curves are asked for once the wheel rests
      const { lo, hi } = range(), x = u.posToVal(e.offsetX, "x"), k = e.deltaY < 0 ? 0.8 : 1.25;
      showRange(x - (x - lo) * k, x + (hi - x) * k);
      redrawLater();
    });
    over.addEventListener("mousedown", (e) => {
      if (!e.shiftKey) return;
      const start = e.clientX, { lo, hi } = range(), perPixel = (hi - lo) / over.clientWidth;
      const up = (m) => {
        document.removeEventListener("mouseup", up);
        const dx = (m.clientX - start) * perPixel;
        if (dx) setRange(lo - dx, hi - dx);
      };
      document.addEventListener("mouseup", up);
    });
    over.addEventListener("dblclick", () => home && setRange(home.lo, home.hi));
  } } };
}

function showRange(lo, hi) {
  const digits = (v) => Number(v.toPrecision(12));  // enough for a deep zoom to keep lo < hi
  $("lo").value = digits(lo);
  $("hi").value = digits(hi);
}

function redraw() {
  ask("explore", range()).then(drawExplore).then(() => showError(null), showError);
}

const redrawLater = debounce(redraw, 250);

function setRange(lo, hi) {
  showRange(lo, hi);
  redraw();
}

// -- steps and graph -------------------------------------------------------------------------------
function drawInside(r) {
  const list = $("steps");
  list.replaceChildren();
  $("steps-result").replaceChildren();
  if (r.steps) {
    for (const s of r.steps) {
      const li = document.createElement("li");
      li.append(text("strong", s.rule), text("span", ": "), maths(s.svg, s.latex));
      if (s.caveat) li.append(text("em", " (" + s.caveat + ")"));
      list.append(li);
    }
    $("steps-result").append(text("span", S.derivative + " "), maths(r.result.svg, r.result.latex));
  } else {
    list.append(text("li", r.steps_error, "refused"));
  }
  const graph = $("graph");
  graph.replaceChildren();
  if (r.graph) {
    const img = document.createElement("img");
    img.src = r.graph;
    img.alt = "computational graph";
    graph.append(img);
  } else if (r.graph_error || r.table_error) {
    graph.append(text("p", r.graph_error || r.table_error, "refused"));
  }
  $("graph-table").innerHTML = r.table || "";  // made and escaped by td.graph's _repr_html_
}

// -- the step study --------------------------------------------------------------------------------
function drawStudy(r) {
  study = r;
  const reason = $("errors-reason");
  reason.hidden = !r.reason;
  reason.textContent = r.reason ? `f'(${number(r.x0)}): ${r.reason}` : "";
  const steps = [...r.steps].reverse();
  const labels = Object.keys(r.schemes);
  const data = [steps, ...labels.map((l) => [...r.schemes[l].errors].reverse().map((e) => (e === 0 ? 1e-20 : e)))];
  const series = [{}, ...labels.map((l, i) => ({ label: r.labels[l], stroke: SCHEME_COLOURS[i % 6], width: 1.5,
                                                 points: { show: true, size: 4 } }))];
  if (errorsPlot) errorsPlot.destroy();
  errorsPlot = new uPlot({
    width: chartWidth(), height: 340, series, title: r.title,
    scales: { x: { time: false, distr: 3 }, y: { distr: 3 } },
    axes: [{ label: S.h, values: powers }, { label: S.error, size: 70, values: powers }],
    hooks: { draw: [drawStepLine] },
  }, data, $("errors"));
  $("h").max = String(r.steps.length - 1);
  moveStep();
}

function powers(u, values) {
  // a log axis: label the powers of ten only (its minor ticks stay unlabelled)
  return values.map((v) => {
    const k = Math.log10(v);
    return v && Math.abs(k - Math.round(k)) < 1e-6 ? "1e" + Math.round(k) : "";
  });
}

function drawStepLine(u) {
  if (!study) return;
  const x = Math.round(u.valToPos(study.steps[Number($("h").value)], "x", true));
  const ctx = u.ctx;
  ctx.save();
  ctx.strokeStyle = "#333";
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(x, u.bbox.top);
  ctx.lineTo(x, u.bbox.top + u.bbox.height);
  ctx.stroke();
  ctx.restore();
}

function moveStep() {
  if (!study) return;
  const i = Number($("h").value), h = study.steps[i];
  $("h-value").textContent = h.toExponential(1);
  const body = $("at-step").tBodies[0];
  body.replaceChildren(...Object.entries(study.schemes).map(([label, s]) => {
    const tr = document.createElement("tr");
    tr.append(text("td", study.labels[label]), text("td", number(s.errors[i]), "error"),
              text("td", number(s.default_step)), text("td", number(s.default_error)));
    return tr;
  }));
  if (errorsPlot) errorsPlot.redraw(false, false);
}

// -- speed -----------------------------------------------------------------------------------------
async function measureSpeed() {
  const button = $("measure");
  button.disabled = true;
  button.dataset.label = button.dataset.label || button.textContent;
  button.textContent = S.busy;
  try {
    const { lo, hi } = range();
    const r = await ask("speed", { lo, hi });
    const seconds = (s) => (s === null ? "" : s >= 1 ? s.toFixed(2) + " s" : s >= 1e-3 ? (s * 1e3).toFixed(2) + " ms"
                                                       : (s * 1e6).toFixed(1) + " µs");
    const bytes = (b) => (b >= 2 ** 20 ? (b / 2 ** 20).toFixed(1) + " MiB" : (b / 1024).toFixed(0) + " KiB");
    $("speed").tBodies[0].replaceChildren(...r.methods.map((m) => {
      const tr = document.createElement("tr");
      if (!m.available) tr.append(text("td", m.label), text("td", m.reason), text("td", ""), text("td", ""), text("td", ""));
      else tr.append(text("td", m.label), text("td", seconds(m.setup_seconds)),
                     text("td", seconds(m.evaluation_seconds.median)), text("td", bytes(m.peak_memory_bytes)),
                     text("td", m.max_rel_error === null ? "" : m.max_rel_error.toExponential(1)));
      return tr;
    }));
    $("speed").hidden = false;
    showError(null);
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
    button.textContent = button.dataset.label;
  }
}

function chartWidth() {
  return Math.min(960, document.querySelector("main").clientWidth);
}

function debounce(fn, ms) {
  let timer;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

const later = debounce(() => { home = range(); refresh(); }, 350);
$("formula").addEventListener("input", later);
for (const id of ["lo", "hi", "at"]) $(id).addEventListener("input", later);
$("examples").addEventListener("change", (e) => {
  const option = e.target.selectedOptions[0];
  if (!option.value) return;
  $("formula").value = option.value;
  $("lo").value = option.dataset.lo;
  $("hi").value = option.dataset.hi;
  home = range();
  refresh();
});
$("controls").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
$("h").addEventListener("input", moveStep);
$("measure").addEventListener("click", measureSpeed);
home = range();
refresh();
