// The analytics page (/admin/analytics?exam=ID): the figures of GET /exams/{id}/analytics
// as pictures and a table. Every chart is an inline <svg role="img"> whose aria-label and
// <desc> say in words what it shows; only attributes and classes are set (no style
// attribute, no inline script), as the Content-Security-Policy requires.

import { Api, NetworkError, problemMessage } from "./api.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "ev.admin.token"; // the invigilator page's key: one sign-in serves both
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 280;
const M = { top: 16, right: 16, bottom: 44, left: 52 };
const FLAG_TEXT = {
  negative_discrimination: "negative discrimination",
  distractor_beats_key: "a distractor beats the key",
  too_easy: "too easy",
  too_hard: "too hard",
};

let api = null;
const examId = new URLSearchParams(location.search).get("exam");

function show(name) {
  $("loading").hidden = true;
  for (const screen of ["signin", "analytics"]) $(`screen-${screen}`).hidden = screen !== name;
}

function showSignIn(message = "") {
  show("signin");
  $("signin-error").textContent = message;
  $("admin-token").focus();
}

/** A GET; null after showing why (a 401 or 403 asks for the token again). */
async function get(path, errorElement) {
  let result;
  try {
    result = await api.call("GET", path, undefined, { timeoutMs: 120000 });
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    errorElement.textContent = "The server cannot be reached; reload to try again.";
    return null;
  }
  if (result.status === 401 || result.status === 403) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn("This admin token is not accepted.");
    return null;
  }
  if (result.status !== 200) {
    errorElement.textContent = problemMessage(result);
    return null;
  }
  errorElement.textContent = "";
  return result.data;
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("admin-token").value.trim();
  if (!token) {
    $("signin-error").textContent = "Enter the admin token.";
    return;
  }
  api = new Api(token);
  $("signin-error").textContent = "Signing in…";
  if (!(await get("/exams", $("signin-error")))) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("admin-token").value = "";
  load();
});

// ---------------------------------------------------------------- drawing

function node(name, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

const r2 = (value) => Math.round(value * 100) / 100;

/** An empty chart: <svg role="img"> named by `summary`, with <title> and <desc>. */
function chart(title, summary, height = HEIGHT) {
  const svg = node("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: "img",
    "aria-label": `${title}. ${summary}`,
    class: "analytics-chart",
    preserveAspectRatio: "xMidYMid meet",
  });
  svg.append(node("title", {}, title), node("desc", {}, summary));
  return svg;
}

function axes(svg, height, xLabel, yLabel) {
  const bottom = height - M.bottom;
  const g = node("g", { class: "axis", "aria-hidden": "true" });
  g.append(
    node("line", { x1: M.left, y1: bottom, x2: WIDTH - M.right, y2: bottom }),
    node("line", { x1: M.left, y1: M.top, x2: M.left, y2: bottom }),
    node("text", { x: (M.left + WIDTH - M.right) / 2, y: height - 6, "text-anchor": "middle" }, xLabel),
    node("text", { x: 12, y: (M.top + bottom) / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${(M.top + bottom) / 2})` }, yLabel),
  );
  svg.append(g);
}

/** Bars over [from, to) bins, as the server's histogram gives them. */
export function histogramChart(title, bins, total) {
  const parts = bins.map((b) => `${b.from} to ${b.to}: ${b.count}`);
  const summary = total
    ? `${total} submitted attempts by score, from the lower bound up to, not including, the upper: ${parts.join("; ")}.`
    : "No submitted attempts yet.";
  const svg = chart(title, summary);
  axes(svg, HEIGHT, "Score", "Attempts");
  if (!bins.length) return svg;
  const plotW = WIDTH - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;
  const tallest = Math.max(1, ...bins.map((b) => b.count));
  const w = plotW / bins.length;
  const g = node("g", { "aria-hidden": "true" });
  bins.forEach((b, i) => {
    const h = (b.count / tallest) * plotH;
    const x = M.left + i * w;
    g.append(node("rect", { x: r2(x + 1), y: r2(M.top + plotH - h), width: r2(Math.max(1, w - 2)), height: r2(h), class: "bar" }));
    if (bins.length <= 12 || i % Math.ceil(bins.length / 12) === 0) {
      g.append(node("text", { x: r2(x), y: M.top + plotH + 16, "text-anchor": "middle" }, String(b.from)));
    }
  });
  g.append(node("text", { x: M.left - 6, y: M.top + 4, "text-anchor": "end" }, String(tallest)));
  svg.append(g);
  return svg;
}

/** Bins of width 1, 2 or 5 × 10^k, at most 20, [from, to): the server's rule (decisions.md). */
export function bins(values) {
  if (!values.length) return [];
  const low = Math.min(...values);
  const high = Math.max(...values);
  let width = 1;
  for (let k = 0; ; k++) {
    const found = [1, 2, 5].map((f) => f * 10 ** k).find((w) => (high - low) / w < 20);
    if (found) {
      width = found;
      break;
    }
  }
  const start = Math.floor(low / width) * width;
  const n = Math.floor((high - start) / width) + 1;
  const out = Array.from({ length: n }, (_, i) => ({ from: r2(start + i * width), to: r2(start + (i + 1) * width), count: 0 }));
  for (const v of values) out[Math.min(n - 1, Math.floor((v - start) / width))].count += 1;
  return out;
}

/** Each section: the spread of its scores (lowest to highest), mean ± sd and the median. */
export function sectionsChart(sections, scoresBySection) {
  const rowH = 44;
  const height = M.top + M.bottom + rowH * Math.max(1, sections.length);
  const described = sections.map((s) => {
    const scores = scoresBySection[s.id] || [];
    if (s.mean == null || !scores.length) return `${s.id}: no submitted attempts`;
    return `${s.id} (out of ${s.max_score}): lowest ${Math.min(...scores)}, highest ${Math.max(...scores)}, mean ${s.mean}, median ${s.median}, standard deviation ${s.sd}`;
  });
  const svg = chart("Scores by section", `${described.join("; ")}.`, height);
  axes(svg, height, "Score", ""); // the section names label the rows
  const lowest = Math.min(0, ...sections.flatMap((s) => scoresBySection[s.id] || []));
  const highest = Math.max(1, ...sections.map((s) => Number(s.max_score) || 0));
  const plotW = WIDTH - M.left - M.right;
  const x = (v) => r2(M.left + ((v - lowest) / (highest - lowest)) * plotW);
  const g = node("g", { "aria-hidden": "true" });
  sections.forEach((s, i) => {
    const y = M.top + rowH * i + rowH / 2;
    const scores = scoresBySection[s.id] || [];
    g.append(node("text", { x: M.left - 6, y: y + 4, "text-anchor": "end" }, s.id));
    if (s.mean == null || !scores.length) return;
    g.append(
      node("line", { x1: x(Math.min(...scores)), y1: y, x2: x(Math.max(...scores)), y2: y, class: "range" }),
      // mean ± sd, clipped to the plot: it can reach past the lowest or highest score.
      node("rect", { x: x(Math.max(lowest, s.mean - s.sd)), y: y - 10, width: Math.max(1, x(Math.min(highest, s.mean + s.sd)) - x(Math.max(lowest, s.mean - s.sd))), height: 20, class: "band" }),
      node("line", { x1: x(s.median), y1: y - 12, x2: x(s.median), y2: y + 12, class: "range" }),
      node("circle", { cx: x(s.mean), cy: y, r: 4, class: "mean" }),
    );
  });
  g.append(
    node("text", { x: x(lowest), y: height - M.bottom + 16, "text-anchor": "middle" }, String(lowest)),
    node("text", { x: x(highest), y: height - M.bottom + 16, "text-anchor": "middle" }, String(highest)),
  );
  svg.append(g);
  return svg;
}

/** One point per question: facility (x, 0–1) against discrimination (y, −1–1). */
export function itemsChart(questions) {
  // A pool question given to too few attempts for both groups has no discrimination.
  const shown = questions.filter((q) => q.facility != null && q.discrimination != null);
  const flagged = shown.filter((q) => q.flags.length);
  const summary = shown.length
    ? `${shown.length} questions plotted by facility (share correct) against discrimination. ${flagged.length ? `Flagged: ${flagged.map((q) => `${q.id} (facility ${q.facility}, discrimination ${q.discrimination})`).join("; ")}.` : "None flagged."}`
    : "No submitted attempts yet.";
  const svg = chart("Difficulty against discrimination", summary);
  axes(svg, HEIGHT, "Facility (share correct)", "Discrimination");
  const plotW = WIDTH - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;
  const x = (f) => r2(M.left + f * plotW);
  const y = (d) => r2(M.top + ((1 - d) / 2) * plotH);
  const g = node("g", { "aria-hidden": "true" });
  g.append(
    node("line", { x1: M.left, y1: y(0), x2: WIDTH - M.right, y2: y(0), class: "grid" }),
    node("text", { x: M.left - 6, y: y(1) + 4, "text-anchor": "end" }, "1"),
    node("text", { x: M.left - 6, y: y(0) + 4, "text-anchor": "end" }, "0"),
    node("text", { x: M.left - 6, y: y(-1) + 4, "text-anchor": "end" }, "−1"),
    node("text", { x: x(0), y: M.top + plotH + 16, "text-anchor": "middle" }, "0"),
    node("text", { x: x(1), y: M.top + plotH + 16, "text-anchor": "middle" }, "1"),
  );
  for (const q of shown) {
    const bad = q.flags.length > 0;
    g.append(node("circle", { cx: x(q.facility), cy: y(q.discrimination), r: 4, class: bad ? "point flagged" : "point" }));
    if (bad) g.append(node("text", { x: x(q.facility) + 6, y: y(q.discrimination) - 6 }, q.id));
  }
  svg.append(g);
  return svg;
}

// ---------------------------------------------------------------- page

const fmt = (value) => (value === null || value === undefined ? "–" : String(value));

function renderItems(questions) {
  const body = $("item-rows");
  body.replaceChildren();
  for (const q of questions) {
    const row = document.createElement("tr");
    if (q.dropped) row.className = "dropped";
    const head = document.createElement("th");
    head.scope = "row";
    head.textContent = q.id;
    row.append(head);
    const options = q.options ? Object.entries(q.options).map(([k, v]) => `${k} ${v}`).join(", ") : "–";
    const cells = [
      [q.section, ""],
      [fmt(q.facility), "number"],
      [fmt(q.discrimination), "number"],
      [fmt(q.point_biserial), "number"],
      [q.outcomes ? fmt(q.outcomes.unanswered) : "–", "number"],
      [options || "–", ""],
      [q.median_time_ms == null ? "–" : `${(q.median_time_ms / 1000).toFixed(1)} s`, "number"],
      [q.flags.length ? q.flags.map((f) => FLAG_TEXT[f] ?? f).join(", ") : "none", q.flags.length ? "flagged" : ""],
    ];
    for (const [text, cls] of cells) {
      const cell = row.insertCell();
      cell.textContent = text;
      if (cls) cell.className = cls;
    }
    body.append(row);
  }
}

async function load() {
  show("analytics");
  if (!examId) {
    $("analytics-error").textContent = "No exam given: open this page as /admin/analytics?exam=ID.";
    return;
  }
  const base = `/exams/${encodeURIComponent(examId)}`;
  $("analytics-title").textContent = `Analytics · ${examId}`;
  document.title = `Analytics · ${examId} · examvault`;
  $("analytics-state").textContent = "Computing…";
  const [doc, results] = await Promise.all([
    get(`${base}/analytics`, $("analytics-error")),
    get(`${base}/results`, $("analytics-error")),
  ]);
  if (!doc) {
    $("analytics-state").textContent = "";
    return;
  }
  $("analytics-state").textContent = doc.provisional
    ? `Provisional: the exam is open; over the ${doc.submitted} attempts submitted so far.`
    : "Final: the exam is closed.";
  $("s-submitted").textContent = fmt(doc.submitted);
  $("s-absent").textContent = fmt(doc.absent);
  $("s-mean").textContent = fmt(doc.score.mean);
  $("s-median").textContent = fmt(doc.score.median);
  $("s-sd").textContent = fmt(doc.score.sd);
  $("s-alpha").textContent = fmt(doc.cronbach_alpha);
  $("chart-histogram").replaceChildren(histogramChart("Score distribution", doc.score.histogram, doc.submitted));
  const submitted = (results?.results || []).filter((r) => r.status === "submitted" && r.sections);
  const bySection = {};
  for (const s of doc.sections) bySection[s.id] = submitted.map((r) => Number(r.sections[s.id]));
  $("chart-sections").replaceChildren(sectionsChart(doc.sections, bySection));
  $("chart-items").replaceChildren(itemsChart(doc.questions));
  renderItems(doc.questions);
  $("analytics-title").focus();
}

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  api = new Api(saved);
  load();
} else {
  showSignIn();
}
