// The student's exam page: sign in, instructions, the exam, submit, the receipt.
// Every change goes into the outbox (IndexedDB) before anything else; the sender delivers
// it; the server's clock drives the timer. See docs and PAGE.md for the names used here.

import { Api, NetworkError, Pause, ServerClock, backoffMs, problemMessage } from "./api.js";
import { openOutbox } from "./outbox.js";
import { OFFLINE, SAVED, SAVING, Sender, namedItems, wireItem } from "./sender.js";
import { formatDuration, formatMark, formatTime, hasResponse, hms } from "./format.js";

const $ = (id) => document.getElementById(id);

/** sessionStorage as JSON; a browser that refuses it just loses the reload shortcut. */
const session = {
  get(key) {
    try {
      return JSON.parse(sessionStorage.getItem(key));
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      sessionStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* full or refused: the outbox in IndexedDB still holds every answer */
    }
  },
  clear() {
    try {
      sessionStorage.clear();
    } catch {
      /* nothing to clear */
    }
  },
};

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NUMERIC_DEBOUNCE_MS = 400;
const SAVE_TEXT = {
  [SAVED]: "Saved",
  [SAVING]: "Saving…",
  [OFFLINE]: "Offline — answers kept on this device",
};
const STATE_CLASS = {
  "not visited": "state-not-visited",
  "not answered": "state-not-answered",
  answered: "state-answered",
  "marked for review": "state-marked",
  "answered and marked for review": "state-answered-marked",
};
const WARNINGS = [
  { seconds: 60, text: "1 minute left." },
  { seconds: 300, text: "5 minutes left." },
];
const TYPE_TEXT = {
  single: "Choose one answer",
  multiple: "Choose one or more answers",
  numeric: "Type a number",
};

const clock = new ServerClock(session.get("ev.clock") || undefined);
let api = null;
let me = null;

// ---------------------------------------------------------------- screens

const SCREENS = ["signin", "instructions", "exam", "submitted"];

function show(name, { focus = true } = {}) {
  $("loading").hidden = true;
  for (const screen of SCREENS) $(`screen-${screen}`).hidden = screen !== name;
  document.body.dataset.screen = name;
  const titles = {
    signin: "Sign in · examvault",
    instructions: `${me?.exam?.title ?? "Exam"} · instructions`,
    exam: `${me?.exam?.title ?? "Exam"} · examvault`,
    submitted: "Submitted · examvault",
  };
  document.title = titles[name];
  $("topbar-title").textContent = name === "signin" ? "" : (me?.exam?.title ?? "");
  if (focus && name !== "exam") $(`screen-${name}`).querySelector("h1")?.focus();
}

// ---------------------------------------------------------------- sign in

function showSignIn(message = "") {
  show("signin", { focus: false });
  $("signin-error").textContent = message;
  $("token").focus();
}

async function signIn(token) {
  if (session.get("ev.token") !== token) {
    session.clear();
    session.set("ev.token", token);
  }
  api = new Api(token, clock);
  let result;
  try {
    result = await api.call("GET", "/me");
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    me = session.get("ev.me");
    if (me) return afterSignIn({ offline: true });
    return showSignIn("The server cannot be reached. Check the connection and try again.");
  }
  if (result.status === 401 || result.status === 403) {
    session.clear();
    return showSignIn("This token is not recognised. Check it and try again.");
  }
  if (result.status !== 200 || !result.data) {
    return showSignIn(`Signing in failed: ${problemMessage(result)} Try again in a moment.`);
  }
  me = result.data;
  session.set("ev.me", me);
  return afterSignIn({ offline: false });
}

function afterSignIn({ offline }) {
  const attempt = me.attempt;
  const wasInExam = session.get("ev.screen") === "exam" || session.get("ev.screen") === "submitted";
  if ((attempt && (attempt.status !== "in_progress" || wasInExam)) || (offline && wasInExam)) {
    return enterAttempt();
  }
  return showInstructions();
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) {
    $("signin-error").textContent = "Enter your candidate token.";
    $("token").focus();
    return;
  }
  $("signin-error").textContent = "Signing in…";
  signIn(token);
});

// ---------------------------------------------------------------- instructions

function showInstructions() {
  const exam = me.exam;
  $("exam-title").textContent = exam.title;
  $("candidate-line").textContent = `Candidate: ${me.name ? `${me.name} (${me.candidate_id})` : me.candidate_id}`;
  $("exam-duration").textContent = formatDuration(exam.duration_seconds);
  const window = [
    exam.opens_at ? `from ${formatTime(exam.opens_at)}` : "",
    exam.closes_at ? `until ${formatTime(exam.closes_at)}` : "",
  ].filter(Boolean);
  $("exam-window-row").hidden = window.length === 0;
  $("exam-window").textContent = window.join(" ");
  const body = $("sections-body");
  body.replaceChildren();
  for (const section of exam.sections) {
    const row = body.insertRow();
    const head = document.createElement("th");
    head.scope = "row";
    head.textContent = section.title;
    row.append(head);
    row.insertCell().textContent = String(section.questions);
    row.insertCell().textContent = (section.marks || [])
      .map((marks) => `${marks.questions} × (${formatMark(marks)})`)
      .join("; ");
  }
  $("start-button").textContent = me.attempt ? "Resume exam" : "Start exam";
  $("start-error").textContent = "";
  show("instructions");
}

$("start-button").addEventListener("click", () => enterAttempt());

// ---------------------------------------------------------------- starting / resuming

let entering = false;

/** POST the attempt (start or resume), falling back to the last view when offline. */
async function enterAttempt() {
  if (entering) return;
  entering = true;
  const button = $("start-button");
  button.disabled = true;
  const pause = new Pause();
  try {
    for (let failures = 0; ; failures++) {
      let result;
      try {
        result = await api.call("POST", `/exams/${encodeURIComponent(me.exam.id)}/attempts`);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        const cached = session.get("ev.view");
        if (cached && cached.exam_id === me.exam.id) return await openExam(cached);
        notifyStart("The server cannot be reached. Trying again…");
        await pause.sleep(backoffMs(failures));
        continue;
      }
      if (result.status === 200 || result.status === 201) {
        session.set("ev.view", result.data);
        return await openExam(result.data);
      }
      if (result.status === 429 || result.status >= 500) {
        notifyStart("The server is busy. Trying again…");
        await pause.sleep((result.retryAfterMs ?? backoffMs(failures)) + Math.random() * 500);
        continue;
      }
      if (result.status === 401) {
        session.clear();
        return showSignIn("This token is no longer accepted. Sign in again.");
      }
      return notifyStart(problemMessage(result));
    }
  } finally {
    entering = false;
    button.disabled = false;
  }
}

function notifyStart(message) {
  if ($("screen-instructions").hidden) showInstructions();
  $("start-error").textContent = message;
}

// ---------------------------------------------------------------- the exam

/** Everything about the attempt on screen. */
const exam = {
  view: null,
  attemptId: null,
  questions: [], // {id, type, text, options, marks, section, sectionTitle, number}
  sections: [], // {id, title, first, questions: [...]}
  answers: new Map(), // question id → {response, marked, seq}
  visited: new Set(),
  timeSpent: new Map(), // question id → ms
  current: 0,
  shownSince: performance.now(),
  deadline: null,
  outbox: null,
  sender: null,
  writes: Promise.resolve(),
  submitting: null,
  timer: null,
  warned: Infinity,
  saveState: SAVED,
};

function key(name) {
  return `ev.${name}.${exam.attemptId}`;
}

async function openExam(view) {
  exam.view = view;
  exam.attemptId = view.attempt_id;
  exam.outbox = await openOutbox(view.attempt_id);
  await exam.outbox.raiseSeq(view.last_seq || 0);
  if (view.status !== "in_progress") return submitAttempt();

  exam.questions = [];
  exam.sections = [];
  for (const section of view.sections) {
    const entry = { id: section.id, title: section.title, first: exam.questions.length, questions: [] };
    for (const question of section.questions) {
      const q = { ...question, section: section.id, sectionTitle: section.title };
      q.number = exam.questions.length + 1;
      exam.questions.push(q);
      entry.questions.push(q);
    }
    exam.sections.push(entry);
  }

  // The answers: the server's view, then what this tab saw, then the outbox; for each
  // question the highest seq wins, exactly as on the server.
  exam.answers = new Map();
  const overlay = (questionId, response, marked, seq) => {
    const known = exam.answers.get(questionId);
    if (!known || seq > known.seq) exam.answers.set(questionId, { response, marked: !!marked, seq });
  };
  for (const [id, answer] of Object.entries(view.answers || {})) {
    overlay(id, answer.response, answer.marked_for_review, answer.seq ?? 0);
  }
  for (const [id, answer] of Object.entries(session.get(key("answers")) || {})) {
    overlay(id, answer.response, answer.marked, answer.seq);
  }
  const pending = await exam.outbox.pending();
  for (const item of pending) overlay(item.question_id, item.response, item.marked_for_review, item.seq);

  exam.visited = new Set([...(session.get(key("visited")) || []), ...exam.answers.keys()]);
  exam.timeSpent = new Map(Object.entries(session.get(key("time")) || {}));
  for (const [id, answer] of Object.entries(view.answers || {})) {
    if (!exam.timeSpent.has(id) && Number.isFinite(answer.time_spent_ms)) {
      exam.timeSpent.set(id, answer.time_spent_ms);
    }
  }
  exam.deadline = Date.parse(view.deadline);
  exam.warned = Infinity;

  buildTabs();
  buildPalette();
  session.set("ev.screen", "exam");
  show("exam");
  goTo(Math.min(session.get(key("current")) ?? 0, exam.questions.length - 1), { focus: true });

  exam.sender = new Sender({
    api,
    outbox: exam.outbox,
    attemptId: exam.attemptId,
    onState: setSaveState,
    onAck: (data) => {
      if (data.deadline) exam.deadline = Date.parse(data.deadline);
      session.set("ev.clock", clock);
    },
    onClosed: () => submitAttempt(),
  });
  exam.sender.kick();
  startTimer();
}

function setSaveState(state) {
  exam.saveState = state;
  const element = $("save-state");
  if (element.textContent !== SAVE_TEXT[state]) element.textContent = SAVE_TEXT[state];
  element.dataset.state = state;
}

// ---------------------------------------------------------------- changes

/**
 * Record a change to a question: the outbox gets it (with the next seq) before anything
 * else; only then is it shown as saved locally and handed to the sender.
 */
function change(question, patch) {
  commitTime();
  const known = exam.answers.get(question.id) || { response: null, marked: false, seq: 0 };
  const next = { ...known, ...patch };
  exam.answers.set(question.id, next);
  const item = {
    question_id: question.id,
    response: next.response,
    marked_for_review: next.marked,
    time_spent_ms: Math.round(exam.timeSpent.get(question.id) || 0),
  };
  if (exam.saveState === SAVED) setSaveState(SAVING);
  updatePalette(question);
  const write = exam.outbox
    .add(item)
    .then((stored) => {
      const latest = exam.answers.get(question.id);
      if (latest === next) latest.seq = stored.seq;
      persistAnswers();
      exam.sender?.kick();
    })
    .catch((error) => {
      console.error("could not store the answer on this device", error);
    });
  // Submit waits for every write started before it.
  exam.writes = exam.writes.then(() => write);
}

function persistAnswers() {
  session.set(key("answers"), Object.fromEntries(exam.answers));
}

function commitTime() {
  const now = performance.now();
  const question = exam.questions[exam.current];
  if (question && document.visibilityState !== "hidden") {
    exam.timeSpent.set(question.id, (exam.timeSpent.get(question.id) || 0) + (now - exam.shownSince));
  }
  exam.shownSince = now;
  if (exam.attemptId) session.set(key("time"), Object.fromEntries(exam.timeSpent));
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") {
    commitTime();
    flushNumeric();
  } else {
    exam.shownSince = performance.now();
  }
});
window.addEventListener("pagehide", () => flushNumeric());

// ---------------------------------------------------------------- numeric input

let numericPending = null; // {question, input, timer}

function onNumericEdit(question, input) {
  validateNumeric(input);
  if (numericPending) clearTimeout(numericPending.timer);
  numericPending = {
    question,
    input,
    timer: setTimeout(flushNumeric, NUMERIC_DEBOUNCE_MS),
  };
}

function validateNumeric(input) {
  const text = input.value.trim();
  const ok = text === "" || NUMERIC.test(text) || /^[+-]?\.?$/.test(text);
  input.setAttribute("aria-invalid", ok ? "false" : "true");
  $("numeric-error").textContent = ok ? "" : "Enter a number such as 2.5, -3 or 0.25 (use a point for decimals).";
  return ok;
}

/** Save the numeric field now if it holds an unsaved edit. */
function flushNumeric() {
  if (!numericPending) return;
  const { question, input, timer } = numericPending;
  clearTimeout(timer);
  numericPending = null;
  const text = input.value.trim();
  const known = exam.answers.get(question.id);
  const current = known && hasResponse(known.response) ? String(known.response) : "";
  if (text === current) return;
  if (text === "") change(question, { response: null });
  else if (NUMERIC.test(text)) change(question, { response: text });
}

function keypadPress(question, input, key) {
  let value = input.value;
  if (key === "backspace") value = value.slice(0, -1);
  else if (key === "-") value = value.startsWith("-") ? value.slice(1) : `-${value}`;
  else if (key === ".") value = value.includes(".") ? value : `${value || "0"}.`;
  else value += key;
  input.value = value;
  onNumericEdit(question, input);
}

// ---------------------------------------------------------------- rendering

function buildTabs() {
  const tabs = $("section-tabs");
  tabs.replaceChildren();
  exam.sections.forEach((section, index) => {
    const tab = document.createElement("button");
    tab.type = "button";
    tab.setAttribute("role", "tab");
    tab.id = `tab-${index}`;
    tab.textContent = section.title;
    tab.setAttribute("aria-controls", "question-panel");
    tab.addEventListener("click", () => openSection(index));
    tab.addEventListener("keydown", (event) => {
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: exam.sections.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const target = (moves[event.key] + exam.sections.length) % exam.sections.length;
      openSection(target);
      $(`tab-${target}`).focus();
    });
    tabs.append(tab);
  });
}

function openSection(index) {
  const section = exam.sections[index];
  const here = exam.questions[exam.current];
  if (here && here.section === section.id) return;
  goTo(section.first, { focus: false });
}

function buildPalette() {
  const groups = $("palette-groups");
  groups.replaceChildren();
  exam.sections.forEach((section, index) => {
    const group = document.createElement("div");
    group.className = "palette-group";
    group.setAttribute("role", "group");
    const title = document.createElement("h3");
    title.id = `palette-section-${index}`;
    title.textContent = section.title;
    group.setAttribute("aria-labelledby", title.id);
    const list = document.createElement("ul");
    for (const question of section.questions) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.id = `palette-${question.number}`;
      button.textContent = String(question.number);
      button.addEventListener("click", () => goTo(question.number - 1, { focus: true }));
      item.append(button);
      list.append(item);
    }
    group.append(title, list);
    groups.append(group);
  });
  for (const question of exam.questions) updatePalette(question);
}

function stateOf(question) {
  const answer = exam.answers.get(question.id);
  const answered = !!answer && hasResponse(answer.response);
  const marked = !!answer?.marked;
  if (answered && marked) return "answered and marked for review";
  if (marked) return "marked for review";
  if (answered) return "answered";
  return exam.visited.has(question.id) ? "not answered" : "not visited";
}

function updatePalette(question) {
  const button = $(`palette-${question.number}`);
  if (!button) return;
  const state = stateOf(question);
  button.setAttribute("aria-label", `Question ${question.number} ${state}`);
  button.className = `palette-button ${STATE_CLASS[state]}`;
  button.dataset.state = state;
  if (question.number - 1 === exam.current) button.setAttribute("aria-current", "true");
  else button.removeAttribute("aria-current");
}

/** Show question `index` (0-based); `focus` moves keyboard focus to its heading. */
function goTo(index, { focus = false } = {}) {
  flushNumeric();
  commitTime();
  const previous = exam.questions[exam.current];
  exam.current = Math.max(0, Math.min(index, exam.questions.length - 1));
  const question = exam.questions[exam.current];
  exam.visited.add(question.id);
  session.set(key("visited"), [...exam.visited]);
  session.set(key("current"), exam.current);
  renderQuestion(question);
  if (previous) updatePalette(previous);
  updatePalette(question);
  const sectionIndex = exam.sections.findIndex((section) => section.id === question.section);
  exam.sections.forEach((_, i) => {
    const tab = $(`tab-${i}`);
    tab.setAttribute("aria-selected", String(i === sectionIndex));
    tab.tabIndex = i === sectionIndex ? 0 : -1;
  });
  $("question-panel").setAttribute("aria-labelledby", `tab-${sectionIndex} question-heading`);
  $("btn-previous").disabled = exam.current === 0;
  if (focus) $("question-heading").focus();
}

function renderQuestion(question) {
  $("question-heading").textContent = `Question ${question.number}`;
  const marks = question.marks ? ` · ${formatMark(question.marks)}` : "";
  $("question-meta").textContent = `${question.sectionTitle} · ${TYPE_TEXT[question.type] ?? ""}${marks}`;
  const body = $("question-body");
  body.replaceChildren();
  const answer = exam.answers.get(question.id);
  const response = answer ? answer.response : null;

  if (question.type === "numeric") {
    const text = document.createElement("p");
    text.className = "question-text";
    text.id = "question-text";
    text.textContent = question.text;
    const label = document.createElement("label");
    label.htmlFor = "numeric-answer";
    label.textContent = "Your answer";
    const input = document.createElement("input");
    input.id = "numeric-answer";
    input.type = "text";
    input.inputMode = "decimal";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("aria-describedby", "question-text numeric-error");
    input.value = hasResponse(response) ? String(response) : "";
    input.addEventListener("input", () => onNumericEdit(question, input));
    input.addEventListener("blur", () => flushNumeric());
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        flushNumeric();
      }
    });
    const error = document.createElement("p");
    error.id = "numeric-error";
    error.className = "error";
    error.setAttribute("aria-live", "polite");
    const keypad = document.createElement("div");
    keypad.className = "keypad";
    keypad.setAttribute("role", "group");
    keypad.setAttribute("aria-label", "Numeric keypad");
    for (const key of ["7", "8", "9", "4", "5", "6", "1", "2", "3", "0", ".", "-", "backspace"]) {
      const button = document.createElement("button");
      button.type = "button";
      if (key === "backspace") {
        button.textContent = "⌫";
        button.setAttribute("aria-label", "Backspace");
        button.className = "wide";
      } else {
        button.textContent = key;
      }
      button.addEventListener("click", () => keypadPress(question, input, key));
      keypad.append(button);
    }
    const field = document.createElement("div");
    field.className = "numeric-field";
    field.append(label, input, error);
    body.append(text, field, keypad);
    return;
  }

  const fieldset = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.className = "question-text";
  legend.textContent = question.text;
  fieldset.append(legend);
  const chosen = new Set(Array.isArray(response) ? response : response == null ? [] : [response]);
  const list = document.createElement("div");
  list.className = "options";
  for (const option of question.options || []) {
    const label = document.createElement("label");
    label.className = "option";
    const input = document.createElement("input");
    input.type = question.type === "multiple" ? "checkbox" : "radio";
    input.name = `q-${question.id}`;
    input.value = option.id;
    input.checked = chosen.has(option.id);
    input.addEventListener("change", () => {
      if (question.type === "multiple") {
        const picked = [...list.querySelectorAll("input:checked")].map((box) => box.value);
        change(question, { response: picked.length ? picked : null });
      } else if (input.checked) {
        change(question, { response: option.id });
      }
    });
    const text = document.createElement("span");
    text.textContent = option.text;
    label.append(input, text);
    list.append(label);
  }
  fieldset.append(list);
  body.append(fieldset);
}

// ---------------------------------------------------------------- buttons

function currentQuestion() {
  return exam.questions[exam.current];
}

function next() {
  goTo((exam.current + 1) % exam.questions.length, { focus: true });
}

$("btn-previous").addEventListener("click", () => goTo(exam.current - 1, { focus: true }));

$("btn-next").addEventListener("click", () => {
  flushNumeric();
  const question = currentQuestion();
  if (exam.answers.get(question.id)?.marked) change(question, { marked: false });
  next();
});

$("btn-mark").addEventListener("click", () => {
  flushNumeric();
  const question = currentQuestion();
  if (!exam.answers.get(question.id)?.marked) change(question, { marked: true });
  next();
});

$("btn-clear").addEventListener("click", () => {
  if (numericPending) {
    clearTimeout(numericPending.timer);
    numericPending = null;
  }
  const question = currentQuestion();
  if (hasResponse(exam.answers.get(question.id)?.response)) change(question, { response: null });
  renderQuestion(question);
  $("question-heading").focus();
});

$("btn-submit").addEventListener("click", () => {
  flushNumeric();
  const answered = exam.questions.filter((q) => hasResponse(exam.answers.get(q.id)?.response)).length;
  const marked = exam.questions.filter((q) => exam.answers.get(q.id)?.marked).length;
  $("count-answered").textContent = `Answered ${answered}`;
  $("count-not-answered").textContent = `Not answered ${exam.questions.length - answered}`;
  $("count-marked").textContent = `Marked for review ${marked}`;
  $("submit-dialog").showModal();
});

$("dialog-cancel").addEventListener("click", () => $("submit-dialog").close());
$("dialog-submit").addEventListener("click", () => {
  $("submit-dialog").close();
  submitAttempt();
});

// ---------------------------------------------------------------- timer

function startTimer() {
  clearInterval(exam.timer);
  tick();
  exam.timer = setInterval(tick, 250);
}

function tick() {
  if (!Number.isFinite(exam.deadline)) return;
  const remaining = exam.deadline - clock.now();
  const text = hms(remaining);
  const element = $("timer");
  if (element.textContent !== text) element.textContent = text;
  const seconds = remaining / 1000;
  for (const warning of WARNINGS) {
    if (seconds <= warning.seconds && warning.seconds < exam.warned) {
      exam.warned = warning.seconds;
      if (seconds > 0) $("time-warning").textContent = warning.text;
      $("timer-box").dataset.warning = warning.seconds === 60 ? "urgent" : "soon";
      break;
    }
  }
  if (remaining <= 0 && !exam.submitting) {
    $("time-warning").textContent = "Time is up. Your answers are being submitted.";
    submitAttempt();
  }
}

// ---------------------------------------------------------------- submit

/** Submit the attempt with every unsent change; idempotent, retried until it lands. */
function submitAttempt() {
  if (!exam.submitting) exam.submitting = deliverSubmit();
  return exam.submitting;
}

async function deliverSubmit() {
  flushNumeric();
  commitTime();
  exam.sender?.stop();
  await exam.writes;
  for (const id of ["btn-previous", "btn-next", "btn-mark", "btn-clear", "btn-submit"]) {
    $(id).disabled = true;
  }
  $("question-body").querySelectorAll("input, button").forEach((element) => {
    element.disabled = true;
  });
  $("submitting").textContent = "Submitting your answers…";
  const pause = new Pause();
  let unexplained = 0;
  for (let failures = 0; ; failures++) {
    const items = await exam.outbox.pending();
    const body = unexplained >= 3 ? {} : { answers: items.map(wireItem) };
    let result;
    try {
      result = await api.call("POST", `/attempts/${encodeURIComponent(exam.attemptId)}/submit`, body, {
        timeoutMs: 15000,
      });
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      setSaveState(OFFLINE);
      $("submitting").textContent = "Submitting your answers… waiting for the connection.";
      await pause.sleep(backoffMs(failures));
      continue;
    }
    if (result.status === 200 && result.data) {
      if (body.answers) await exam.outbox.remove(items.map((item) => item.seq));
      setSaveState(SAVED);
      return showSubmitted(result.data);
    }
    if (result.status === 429 || result.status >= 500) {
      if (result.status >= 500) setSaveState(OFFLINE);
      await pause.sleep((result.retryAfterMs ?? backoffMs(failures)) + Math.random() * 500);
      continue;
    }
    if (result.status === 422) {
      const bad = namedItems(result.data, items.length).map((index) => items[index].seq);
      if (bad.length) {
        console.error("the server refused these items as invalid", bad, result.data);
        await exam.outbox.remove(bad);
      } else {
        unexplained++;
      }
      continue;
    }
    $("submitting").textContent = `Submitting failed: ${problemMessage(result)} Trying again…`;
    await pause.sleep(backoffMs(Math.max(failures, 4), { capMs: 30000 }));
  }
}

async function showSubmitted(data) {
  clearInterval(exam.timer);
  session.set("ev.screen", "submitted");
  $("submitted-note").textContent =
    data.submit_kind === "auto"
      ? "The time ended and the server submitted your answers."
      : "Your answers have been submitted.";
  if (data.late?.length) {
    $("submitted-note").textContent +=
      ` ${data.late.length} change(s) reached the server after the deadline and do not count.`;
  }
  const result = data.result;
  $("result").hidden = !result;
  if (result) {
    $("score").textContent = `Score: ${result.score} / ${result.max_score}`;
    const titles = new Map((exam.view?.sections || []).map((section) => [section.id, section.title]));
    const body = $("section-scores");
    body.replaceChildren();
    for (const section of result.sections || []) {
      const row = body.insertRow();
      const head = document.createElement("th");
      head.scope = "row";
      head.textContent = titles.get(section.id) ?? section.id;
      row.append(head);
      row.insertCell().textContent = `${section.score} / ${section.max_score}`;
    }
  }
  $("receipt-attempt").textContent = exam.attemptId;
  const time = document.createElement("time");
  time.dateTime = data.submitted_at;
  time.textContent = formatTime(data.submitted_at);
  $("receipt-time").replaceChildren(time);
  $("receipt-count").textContent = "…";
  show("submitted");
  $("receipt-count").textContent = String(await storedAnswerCount());
}

/** How many answers the server holds for this attempt (the receipt). */
async function storedAnswerCount() {
  const pause = new Pause();
  for (let failures = 0; failures < 5; failures++) {
    try {
      const result = await api.call("GET", `/attempts/${encodeURIComponent(exam.attemptId)}`);
      if (result.status === 200 && result.data) {
        return Object.values(result.data.answers || {}).filter((a) => hasResponse(a.response)).length;
      }
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
    }
    await pause.sleep(backoffMs(failures));
  }
  return "not known yet (the server could not be reached)";
}

// ---------------------------------------------------------------- start

function registerServiceWorker() {
  // The worker keeps this page and its scripts available offline, so that a reload
  // without a network still opens the exam and its outbox.
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => {
      console.warn("no offline copy of the page", error);
    });
  }
}

function start() {
  const params = new URLSearchParams(location.search);
  const fromLink = params.get("token");
  if (fromLink !== null) {
    params.delete("token");
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? `?${query}` : "") + location.hash);
  }
  registerServiceWorker();
  const token = (fromLink || "").trim() || session.get("ev.token");
  if (token) signIn(token);
  else showSignIn();
}

start();
