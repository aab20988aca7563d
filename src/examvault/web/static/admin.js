// The invigilator's page: exams, live counters, candidates, close, CSV, distribution,
// and the exam day's actions (staff.js). Signed in with the admin token it shows every
// exam; with an invigilator token, the one exam (and rooms) that token reaches, without
// keys, scores or the score distribution.

import { API, Api, NetworkError, problemMessage } from "./api.js";
import { histogram } from "./chart.js";
import { formatDuration, formatScore, formatTime } from "./format.js";
import { initActions, selectedIds } from "./staff.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "ev.admin.token";
const LIVE_MS = 2000;
const RESULTS_MS = 10000;
const STATUS_TEXT = {
  absent: "Not started",
  in_progress: "In progress",
  paused: "Paused",
  submitted: "Submitted",
};

let api = null;
let staff = null; // GET /staff/me: {role, id, exam_id, rooms}
let exams = [];
let live = null; // the exam being watched: {id, timer, lastResults, rows}
const knownRooms = new Set();

// ---------------------------------------------------------------- screens

function show(name) {
  $("loading").hidden = true;
  for (const screen of ["signin", "exams", "exam"]) $(`screen-${screen}`).hidden = screen !== name;
  $("sign-out").hidden = name === "signin";
}

function showSignIn(message = "") {
  stopLive();
  staff = null;
  show("signin");
  $("signin-error").textContent = message;
  $("token").focus();
}

const isAdmin = () => staff?.role === "admin";

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
    showSignIn("This token is not accepted here: use the admin token or an invigilator token.");
    return null;
  }
  if (result.status !== 200) {
    errorElement.textContent = problemMessage(result);
    return null;
  }
  errorElement.textContent = "";
  return result.data;
}

/** Who the token belongs to (GET /staff/me); null after sending the user to sign in. */
async function whoAmI(errorElement) {
  staff = await get("/staff/me", errorElement);
  if (!staff) return null;
  const invigilator = staff.role !== "admin";
  // An invigilator never sees keys, scores or the distribution, nor other exams.
  $("back-row").hidden = invigilator;
  $("admin-actions").hidden = invigilator;
  $("distribution").hidden = invigilator;
  $("exam-state").hidden = invigilator; // whether the exam is closed is the admin's to know
  $("score-head").hidden = invigilator;
  knownRooms.clear();
  for (const room of staff.rooms || []) knownRooms.add(room);
  return staff;
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) {
    $("signin-error").textContent = "Enter your token.";
    return;
  }
  api = new Api(token);
  $("signin-error").textContent = "Signing in…";
  if (!(await whoAmI($("signin-error")))) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
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
  let exam;
  if (isAdmin()) {
    const data = await get("/exams", $("exam-error"));
    if (data) exams = data.exams || [];
    exam = exams.find((entry) => entry.id === examId);
  } else {
    exam = await get(`/exams/${encodeURIComponent(examId)}`, $("exam-error"));
  }
  $("exam-name").textContent = exam ? exam.title : examId;
  document.title = `${exam ? exam.title : examId} · examvault`;
  setClosed(!!exam?.closed);
  if (!staff?.rooms) knownRooms.clear();
  $("room").replaceChildren(new Option("All rooms", ""));
  for (const room of [...knownRooms].sort()) $("room").append(new Option(room, room));
  $("outcome").hidden = true;
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
  const room = $("room").value;
  const [stats, candidates] = await Promise.all([
    get(`${base}/stats`, $("exam-error")),
    get(`${base}/candidates${room ? `?room=${encodeURIComponent(room)}` : ""}`, $("exam-error")),
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
  if (candidates && room === $("room").value) renderCandidates(view, candidates.candidates || []);
  if (isAdmin() && Date.now() - view.lastResults >= RESULTS_MS) {
    view.lastResults = Date.now();
    const results = await get(`${base}/results`, $("exam-error"));
    if (results && live === view) renderChart(results.results || []);
  }
  if (live === view) view.timer = setTimeout(() => refresh(view), LIVE_MS);
}

/** "45 minutes", "45 minutes + 10 minutes extended", or "–". */
function extraTime(candidate) {
  const parts = [];
  if (candidate.extra_seconds) parts.push(formatDuration(candidate.extra_seconds));
  if (candidate.extended_seconds) parts.push(`${formatDuration(candidate.extended_seconds)} extended`);
  return parts.length ? parts.join(" + ") : "–";
}

function updateRooms(candidates) {
  const before = knownRooms.size;
  if (!staff?.rooms) for (const candidate of candidates) if (candidate.room) knownRooms.add(candidate.room);
  const select = $("room");
  if (select.options.length - 1 === knownRooms.size && before === knownRooms.size) return;
  const chosen = select.value;
  select.replaceChildren(new Option("All rooms", ""));
  for (const room of [...knownRooms].sort()) select.append(new Option(room, room));
  select.value = chosen;
}

function renderCandidates(view, candidates) {
  updateRooms(candidates);
  const body = $("candidate-rows");
  const seen = new Set();
  const admin = isAdmin();
  candidates.forEach((candidate, index) => {
    seen.add(candidate.candidate_id);
    let row = view.rows.get(candidate.candidate_id);
    if (!row) {
      row = document.createElement("tr");
      const head = document.createElement("th");
      head.scope = "row";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = candidate.candidate_id;
      box.setAttribute("aria-label", candidate.candidate_id);
      box.addEventListener("change", () => describeTarget());
      head.append(box, document.createElement("span"));
      row.append(head);
      for (let i = 0; i < 7; i++) row.insertCell();
      row.cells[4].hidden = !admin; // the score: the admin's only
      view.rows.set(candidate.candidate_id, row);
    }
    if (body.children[index] !== row) body.insertBefore(row, body.children[index] || null);
    const name = candidate.name ? `${candidate.candidate_id} · ${candidate.name}` : candidate.candidate_id;
    const label = row.cells[0].querySelector("span");
    if (label.textContent !== name) label.textContent = name;
    const cells = [
      STATUS_TEXT[candidate.status] ?? candidate.status,
      candidate.last_seen ? formatTime(candidate.last_seen) : "–",
      number(candidate.answers),
      candidate.score == null ? "–" : formatScore(candidate.score),
      candidate.room ?? "–",
      extraTime(candidate),
      candidate.deadline ? formatTime(candidate.deadline) : "–",
    ];
    cells.forEach((text, i) => {
      if (row.cells[i + 1].textContent !== text) row.cells[i + 1].textContent = text;
    });
    row.dataset.status = candidate.status;
  });
  for (const [id, row] of view.rows) {
    if (!seen.has(id)) {
      row.remove();
      view.rows.delete(id);
    }
  }
  describeTarget();
}

// ---------------------------------------------------------------- the exam day

/** Who an action reaches now: the selected candidates, else the room, else everyone. */
function currentTarget() {
  const ids = selectedIds();
  if (ids.length) {
    const shown = ids.length > 5 ? `${ids.slice(0, 5).join(", ")} and ${ids.length - 5} more` : ids.join(", ");
    return { body: { candidates: ids }, text: `${ids.length} selected candidate${ids.length === 1 ? "" : "s"}: ${shown}` };
  }
  const room = $("room").value;
  if (room) return { body: { room }, text: `everyone in room ${room}`, room };
  const rooms = staff?.rooms;
  return {
    body: { all: true },
    text: rooms ? `everyone in your rooms (${rooms.join(", ")})` : "every candidate of this exam",
  };
}

function describeTarget() {
  const text = `Actions reach ${currentTarget().text}.`;
  if ($("target-line").textContent !== text) $("target-line").textContent = text;
}

$("room").addEventListener("change", () => {
  for (const box of document.querySelectorAll("#candidate-rows input[type=checkbox]")) box.checked = false;
  describeTarget();
  if (live) {
    clearTimeout(live.timer);
    refresh(live);
  }
});

initActions({
  call: (method, path, body) => api.call(method, path, body, { timeoutMs: 30000 }),
  examId: () => live?.id,
  target: currentTarget,
  rooms: () => [...knownRooms].sort(),
  staffRooms: () => staff?.rooms ?? null,
  isAdmin,
  refresh: () => {
    if (live) {
      clearTimeout(live.timer);
      refresh(live);
    }
  },
});

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

async function route() {
  if (!api) return showSignIn();
  if (!staff && !(await whoAmI($("signin-error")))) return;
  // An invigilator token reaches one exam: its page is that exam's.
  if (!isAdmin()) return showExam(staff.exam_id);
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
