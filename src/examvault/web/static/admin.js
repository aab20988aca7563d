// The invigilator's page: exams, live counters, candidates, close, CSV, distribution.

import { API, Api, NetworkError, problemMessage } from "./api.js";
import { histogram } from "./chart.js";
import { formatScore, formatTime } from "./format.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "ev.admin.token";
const LIVE_MS = 2000;
const RESULTS_MS = 10000;
const STATUS_TEXT = { absent: "Not started", in_progress: "In progress", submitted: "Submitted" };

let api = null;
let exams = [];
let live = null; // the exam being watched: {id, timer, lastResults, rows}

// ---------------------------------------------------------------- screens

function show(name) {
  $("loading").hidden = true;
  for (const screen of ["signin", "exams", "exam"]) $(`screen-${screen}`).hidden = screen !== name;
  $("sign-out").hidden = name === "signin";
}

function showSignIn(message = "") {
  stopLive();
  show("signin");
  $("signin-error").textContent = message;
  $("admin-token").focus();
}

/** Run a GET; null after showing the problem (a 401 or 403 sends the user to sign in). */
async function get(path, errorElement) {
  let result;
  try {
    result = await api.call("GET", path);
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    errorElement.textContent = "The server cannot be reached; retrying.";
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
  const data = await get("/exams", $("signin-error"));
  if (!data) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("admin-token").value = "";
  exams = data.exams || [];
  route();
});

$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  api = null;
  location.hash = "";
  showSignIn();
});

// ---------------------------------------------------------------- exam list

async function showExams() {
  stopLive();
  const data = await get("/exams", $("exams-error"));
  if (data) exams = data.exams || [];
  const list = $("exam-list");
  list.replaceChildren();
  for (const exam of exams) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#exam=${encodeURIComponent(exam.id)}`;
    link.textContent = exam.title;
    const detail = document.createElement("span");
    detail.className = "help";
    detail.textContent = ` ${exam.id} · ${exam.registered ?? 0} registered · ${exam.in_progress ?? 0} in progress · ${exam.submitted ?? 0} submitted${exam.closed ? " · closed" : ""}`;
    const analytics = document.createElement("a");
    analytics.href = `/admin/analytics?exam=${encodeURIComponent(exam.id)}`;
    analytics.textContent = "Analytics";
    // Named by the id, not the title, so the title names only the exam's own link.
    analytics.setAttribute("aria-label", `Analytics (${exam.id})`);
    item.append(link, detail, " · ", analytics);
    list.append(item);
  }
  $("exams-empty").hidden = exams.length > 0;
  show("exams");
  document.title = "Exams · examvault";
  $("exams-title").focus();
}

// ---------------------------------------------------------------- one exam

function stopLive() {
  if (live) clearTimeout(live.timer);
  live = null;
}

async function showExam(examId) {
  stopLive();
  live = { id: examId, timer: null, lastResults: 0, rows: new Map() };
  const data = await get("/exams", $("exam-error"));
  if (data) exams = data.exams || [];
  const exam = exams.find((entry) => entry.id === examId);
  $("exam-name").textContent = exam ? exam.title : examId;
  document.title = `${exam ? exam.title : examId} · examvault`;
  setClosed(!!exam?.closed);
  $("candidate-rows").replaceChildren();
  $("chart-svg").replaceChildren();
  $("chart-caption").textContent = "No submitted attempts yet.";
  show("exam");
  $("exam-name").focus();
  refresh(live);
}

function setClosed(closed) {
  $("exam-state").textContent = closed ? "This exam is closed." : "This exam is open.";
  $("close-button").disabled = closed;
}

function number(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(digits) : String(value);
}

/** One refresh of the live view; schedules the next one while the view stays open. */
async function refresh(view) {
  if (live !== view) return;
  const base = `/exams/${encodeURIComponent(view.id)}`;
  const [stats, candidates] = await Promise.all([
    get(`${base}/stats`, $("exam-error")),
    get(`${base}/candidates`, $("exam-error")),
  ]);
  if (live !== view) return;
  if (stats) {
    $("c-registered").textContent = number(stats.registered);
    $("c-in-progress").textContent = number(stats.in_progress);
    $("c-submitted").textContent = number(stats.submitted);
    $("c-saves").textContent = number(stats.saves_per_second, 1);
    $("c-p99").textContent = stats.save_p99_ms == null ? "–" : `${number(stats.save_p99_ms, 0)} ms`;
    $("c-late").textContent = number(stats.late_items);
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}; refreshed every 2 seconds.`;
  }
  if (candidates) renderCandidates(view, candidates.candidates || []);
  if (Date.now() - view.lastResults >= RESULTS_MS) {
    view.lastResults = Date.now();
    const results = await get(`${base}/results`, $("exam-error"));
    if (results && live === view) renderChart(results.results || []);
  }
  if (live === view) view.timer = setTimeout(() => refresh(view), LIVE_MS);
}

function renderCandidates(view, candidates) {
  const body = $("candidate-rows");
  const seen = new Set();
  candidates.forEach((candidate, index) => {
    seen.add(candidate.candidate_id);
    let row = view.rows.get(candidate.candidate_id);
    if (!row) {
      row = document.createElement("tr");
      const head = document.createElement("th");
      head.scope = "row";
      row.append(head);
      for (let i = 0; i < 4; i++) row.insertCell();
      view.rows.set(candidate.candidate_id, row);
    }
    if (body.children[index] !== row) body.insertBefore(row, body.children[index] || null);
    const cells = [
      candidate.name ? `${candidate.candidate_id} · ${candidate.name}` : candidate.candidate_id,
      STATUS_TEXT[candidate.status] ?? candidate.status,
      candidate.last_seen ? formatTime(candidate.last_seen) : "–",
      number(candidate.answers),
      candidate.score == null ? "–" : formatScore(candidate.score),
    ];
    cells.forEach((text, i) => {
      if (row.cells[i].textContent !== text) row.cells[i].textContent = text;
    });
    row.dataset.status = candidate.status;
  });
  for (const [id, row] of view.rows) {
    if (!seen.has(id)) {
      row.remove();
      view.rows.delete(id);
    }
  }
}

function renderChart(rows) {
  const submitted = rows.filter((row) => row.status === "submitted" && row.score != null);
  const scores = submitted.map((row) => Number(row.score));
  const maxScore = rows.length ? Number(rows[0].max_score) : 0;
  $("chart-svg").replaceChildren(histogram(scores, maxScore));
  if (!scores.length) {
    $("chart-caption").textContent = "No submitted attempts yet.";
    return;
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  $("chart-caption").textContent =
    `${scores.length} submitted · mean ${mean.toFixed(2)} · highest ${Math.max(...scores)} · lowest ${Math.min(...scores)} (out of ${maxScore})`;
}

// ---------------------------------------------------------------- close, CSV

$("close-button").addEventListener("click", () => $("close-dialog").showModal());
$("close-cancel").addEventListener("click", () => $("close-dialog").close());
$("close-confirm").addEventListener("click", async () => {
  const view = live;
  $("close-dialog").close();
  if (!view) return;
  $("close-button").disabled = true;
  $("exam-state").textContent = "Closing the exam…";
  let result;
  try {
    result = await api.call("POST", `/exams/${encodeURIComponent(view.id)}/close`, undefined, {
      timeoutMs: 120000,
    });
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    $("exam-error").textContent = "The server cannot be reached; the exam may not be closed. Try again.";
    setClosed(false);
    return;
  }
  if (result.status === 200) {
    setClosed(true);
    view.lastResults = 0;
  } else {
    $("exam-error").textContent = `Closing failed: ${problemMessage(result)}`;
    setClosed(false);
  }
});

$("csv-link").addEventListener("click", async (event) => {
  event.preventDefault();
  if (!live) return;
  const id = live.id;
  let response;
  try {
    response = await fetch(`${API}/exams/${encodeURIComponent(id)}/results?format=csv`, {
      headers: { Authorization: `Bearer ${api.token}`, Accept: "text/csv" },
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    $("exam-error").textContent = "The server cannot be reached; the CSV was not downloaded.";
    return;
  }
  if (!response.ok) {
    $("exam-error").textContent = `The CSV could not be downloaded (${response.status}).`;
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = `${id}-results.csv`;
  anchor.hidden = true;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
});

// ---------------------------------------------------------------- routing

function route() {
  if (!api) return showSignIn();
  const match = /^#exam=(.+)$/.exec(location.hash);
  if (match) return showExam(decodeURIComponent(match[1]));
  return showExams();
}

$("back-link").addEventListener("click", (event) => {
  event.preventDefault();
  location.hash = "";
});

window.addEventListener("hashchange", route);

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) api = new Api(saved);
route();
