// The marking page (/mark): a marker (or the admin) signs in with a token, and marks the
// exam's written answers one script at a time, question by question. A script is shown
// as text only (textContent): whatever a candidate wrote is never read as HTML. Scripts
// are anonymous: nothing here names a candidate or an attempt.
//
// Keyboard only works throughout: Enter in "Mark" saves and moves to the next script,
// and the focus comes back to "Mark" each time. A refused mark (off the step, out of
// range) is shown next to the field (role alert) and nothing moves on.

import { Api, NetworkError, problemMessage } from "./api.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "ev.mark.token";
const PAGE = 50; // scripts fetched at a time
const COUNT_PAGE = 500; // the API's largest page, for counting

let api = null;
let who = null; // GET /staff/me: {role, id, exam_id, rooms, questions}
let marking = null; // {examId, questions, index, queue, after, script, marked, total}

// ---------------------------------------------------------------- screens

function show(name) {
  $("loading").hidden = true;
  for (const screen of ["signin", "exams", "mark"]) $(`screen-${screen}`).hidden = screen !== name;
  $("sign-out").hidden = name === "signin";
}

function showSignIn(message = "") {
  who = null;
  marking = null;
  show("signin");
  document.title = "Marking · examvault";
  $("signin-error").textContent = message;
  $("token").focus();
}

/** Run a request; {status, data}, or null after showing why (401/403 → sign in again). */
async function call(method, path, body, errorElement) {
  let result;
  try {
    result = await api.call(method, path, body);
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    errorElement.textContent = "The server cannot be reached. Try again in a moment.";
    return null;
  }
  if (result.status === 401 || (result.status === 403 && method === "GET")) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn("This token is not accepted here: use a marker token or the admin token.");
    return null;
  }
  return result;
}

async function get(path, errorElement) {
  const result = await call("GET", path, undefined, errorElement);
  if (!result) return null;
  if (result.status !== 200) {
    errorElement.textContent = problemMessage(result);
    return null;
  }
  errorElement.textContent = "";
  return result.data;
}

async function signIn(token) {
  api = new Api(token);
  $("signin-error").textContent = "Signing in…";
  const me = await get("/staff/me", $("signin-error"));
  if (!me) return;
  if (me.role === "invigilator") {
    showSignIn("An invigilator token cannot mark: use a marker token or the admin token.");
    return;
  }
  who = me;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  route();
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) {
    $("signin-error").textContent = "Enter your token.";
    $("token").focus();
    return;
  }
  signIn(token);
});

$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  api = null;
  history.replaceState(null, "", location.pathname);
  showSignIn();
});

/** A marker goes straight to its exam; the admin picks one (#exam=ID). */
function route() {
  if (!who) return;
  if (who.role === "marker") return openExam(who.exam_id);
  const match = /^#exam=(.+)$/.exec(location.hash);
  if (match) return openExam(decodeURIComponent(match[1]));
  return showExams();
}

window.addEventListener("hashchange", () => route());

// ---------------------------------------------------------------- exam list (admin)

async function showExams() {
  marking = null;
  const data = await get("/exams", $("exams-error"));
  const exams = data?.exams || [];
  const list = $("exam-list");
  list.replaceChildren();
  for (const exam of exams) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#exam=${encodeURIComponent(exam.id)}`;
    link.textContent = exam.title;
    const detail = document.createElement("span");
    detail.className = "help";
    detail.textContent = ` ${exam.id}`;
    item.append(link, detail);
    list.append(item);
  }
  $("exams-empty").hidden = exams.length > 0;
  show("exams");
  document.title = "Exams to mark · examvault";
  $("exams-title").focus();
}

// ---------------------------------------------------------------- marking

function scriptsPath(examId, params) {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value != null));
  return `/exams/${encodeURIComponent(examId)}/scripts?${query}`;
}

/** How many scripts of `status` the caller marks, following every page. */
async function count(examId, status) {
  let total = 0;
  let after = null;
  do {
    const data = await get(scriptsPath(examId, { status, limit: COUNT_PAGE, after }), $("load-error"));
    if (!data) return null;
    total += data.scripts.length;
    after = data.next;
  } while (after);
  return total;
}

async function refreshProgress(state) {
  const [marked, total] = await Promise.all([count(state.examId, "marked"), count(state.examId, "all")]);
  if (marking !== state || marked === null || total === null) return;
  state.marked = marked;
  state.total = total;
  showProgress(state);
}

function showProgress(state) {
  $("progress").textContent = `Marked ${state.marked} of ${state.total}`;
}

async function openExam(examId) {
  const state = { examId, questions: [], index: 0, queue: [], after: null, script: null, marked: 0, total: 0 };
  marking = state;
  $("back-row").hidden = who?.role !== "admin";
  $("mark-exam").textContent = `Marking: ${examId}`;
  document.title = `Marking ${examId} · examvault`;
  $("load-error").textContent = "";
  $("script").hidden = true;
  $("done").hidden = true;
  show("mark");
  // The questions (text, maximum, step) come with any page of scripts.
  const first = await get(scriptsPath(examId, { status: "unmarked", limit: 1 }), $("load-error"));
  if (!first || marking !== state) return;
  state.questions = first.questions || [];
  await refreshProgress(state);
  if (marking !== state) return;
  if (!state.questions.length) {
    $("done").textContent = "This exam has no written answers for you to mark.";
    $("done").hidden = false;
    $("mark-exam").focus();
    return;
  }
  await nextScript(state, { focus: true });
}

/** The next unmarked script, question by question: fetched a page at a time. */
async function nextScript(state, { focus }) {
  while (!state.queue.length && state.index < state.questions.length) {
    const question = state.questions[state.index];
    const data = await get(
      scriptsPath(state.examId, { question_id: question.id, status: "unmarked", limit: PAGE, after: state.after }),
      $("load-error"),
    );
    if (!data || marking !== state) return;
    state.queue = data.scripts;
    state.after = data.next;
    if (!data.next && !data.scripts.length) {
      state.index += 1;
      state.after = null;
    } else if (!data.next) {
      // The last page of this question: once it is used up, go on to the next question.
      state.queue.push(null);
    }
  }
  const script = state.queue.shift();
  if (script === null) {
    state.index += 1;
    state.after = null;
    return nextScript(state, { focus });
  }
  if (!script) {
    state.script = null;
    $("script").hidden = true;
    $("done").textContent = "Nothing left to mark here for now.";
    $("done").hidden = false;
    $("mark-exam").focus();
    return;
  }
  state.script = script;
  showScript(state, script);
  if (focus) $("mark").focus();
}

function showScript(state, script) {
  const question = state.questions.find((q) => q.id === script.question_id) || {
    id: script.question_id,
    text: script.question_id,
    max_mark: "?",
    step: null,
  };
  $("question-label").textContent = `Question ${question.id}`;
  $("question-heading").textContent = question.text;
  $("answer-text").textContent = script.response ?? "";
  $("mark-max").textContent = `out of ${String(question.max_mark)}`;
  $("mark-step").textContent = question.step ? `(in steps of ${String(question.step)})` : "";
  $("mark").value = script.mark == null ? "" : String(script.mark);
  $("mark").removeAttribute("aria-invalid");
  $("mark-error").textContent = "";
  $("comment").value = script.comment ?? "";
  $("script").hidden = false;
  $("done").hidden = true;
}

function refuse(message) {
  $("mark").setAttribute("aria-invalid", "true");
  $("mark-error").textContent = message;
  $("mark").focus();
}

/** What the server said was wrong with the mark: its errors name the script. */
function refusal(result) {
  const errors = result.data?.errors;
  if (Array.isArray(errors) && errors.length) {
    return errors.map((error) => String(error.msg || "").replace(/\s*\(script [^)]*\)$/, "")).join("; ");
  }
  return problemMessage(result);
}

let saving = false;

async function saveAndNext() {
  const state = marking;
  if (!state?.script || saving) return;
  const mark = $("mark").value.trim();
  if (!mark) return refuse("Enter a mark.");
  const item = { script_id: state.script.script_id, mark };
  const comment = $("comment").value.trim();
  if (comment) item.comment = comment;
  saving = true;
  $("save-next").disabled = true;
  try {
    const result = await call("PUT", `/exams/${encodeURIComponent(state.examId)}/marks`, { marks: [item] }, $("mark-error"));
    if (!result) return $("mark").focus();
    if (result.status === 422) return refuse(`Not saved: ${refusal(result)}.`);
    if (result.status !== 200) return refuse(`Not saved: ${problemMessage(result)}`);
    if (state.script.mark == null) state.marked += 1;
    showProgress(state);
    await nextScript(state, { focus: true });
  } finally {
    saving = false;
    $("save-next").disabled = false;
  }
}

$("mark-form").addEventListener("submit", (event) => {
  // Enter in "Mark" submits the form: save and go on.
  event.preventDefault();
  saveAndNext();
});

$("mark").addEventListener("input", () => {
  $("mark").removeAttribute("aria-invalid");
  $("mark-error").textContent = "";
});

$("skip").addEventListener("click", () => {
  if (marking?.script) nextScript(marking, { focus: true });
});

// ---------------------------------------------------------------- start

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
else showSignIn();
