// The attempt on screen: questions, palette, changes into the outbox, the sender, the
// countdown, the submit, and the exam day's poll (live.js: pause, moved time,
// announcements, a submit or a reopen made by an invigilator). exam.js (the page shell)
// opens it with an attempt view.

import { NetworkError } from "./api.js";
import { Countdown } from "./countdown.js";
import {
  changeNotice,
  clearNotice,
  reopenNotice,
  setPaused,
  showAnnouncements,
  showNotice,
  timeChange,
} from "./examday.js";
import { formatMark, hasResponse } from "./format.js";
import { LivePoller, pollBaseMs } from "./live.js";
import { loadMedia } from "./media.js";
import { openOutbox } from "./outbox.js";
import { buildPalette, buildTabs, paintQuestion, questionState, selectTab } from "./palette.js";
import { NUMERIC, TYPE_TEXT, charCount, renderQuestion } from "./question.js";
import { offerReview } from "./review.js";
import { plainText } from "./richtext.js";
import { OFFLINE, SAVED, SAVING, Sender } from "./sender.js";
import { session } from "./session.js";
import { fillStoredCount, renderReceipt, renderResult, submitWithRetry } from "./submit.js";

const $ = (id) => document.getElementById(id);

const NUMERIC_DEBOUNCE_MS = 400;
const TEXT_DEFAULT_MAX_CHARS = 5000;
const SAVE_TEXT = {
  [SAVED]: "Saved",
  [SAVING]: "Saving…",
  [OFFLINE]: "Offline — answers kept on this device",
};

/** What the shell lends the attempt: the API caller, the server clock, show(screen). */
const page = { api: null, clock: null, show: null };

/** The attempt on screen. */
const exam = {
  view: null,
  attemptId: null,
  questions: [], // {id, type, text, options, marks, section, sectionTitle, number}
  sections: [], // {id, title, first, questions}
  answers: new Map(), // question id → {response, marked, seq}
  visited: new Set(),
  timeSpent: new Map(), // question id → ms on screen
  current: 0,
  shownSince: performance.now(),
  outbox: null,
  sender: null,
  writes: Promise.resolve(),
  submitting: null,
  done: false, // the "Submitted" screen is up
  saveState: SAVED,
  poller: null,
  known: null, // the server's last word on the clock: {status, paused, deadline, remaining_seconds, server_time}
  reopening: false,
};

const countdown = new Countdown({
  clock: { now: () => page.clock.now() },
  display: $("timer"),
  box: $("timer-box"),
  announcer: $("time-warning"),
  onZero: () => timeUp(),
});

function key(name) {
  return `ev.${name}.${exam.attemptId}`;
}

/** Show the attempt `view` (from the server, or this tab's last copy when offline). */
export async function openExam(view, { api, clock, show }) {
  Object.assign(page, { api, clock, show });
  exam.view = view;
  exam.attemptId = view.attempt_id;
  exam.submitting = null;
  exam.done = false;
  exam.outbox = await openOutbox(view.attempt_id);
  // After a reload, seqs continue above both what this device and the server have seen.
  await exam.outbox.raiseSeq(view.last_seq || 0);
  // The poll runs on the "Submitted" screen too: a reopened attempt comes back.
  if (!exam.poller || exam.poller.attemptId !== view.attempt_id) {
    exam.poller?.stop();
    exam.poller = new LivePoller({ api: page.api, attemptId: view.attempt_id, onLive });
  }
  exam.poller.start();
  exam.known = observation(view);
  showAnnouncements(view.announcements);
  if (view.status === "submitted") return submitAttempt();

  exam.questions = [];
  exam.sections = [];
  for (const section of view.sections) {
    const entry = { id: section.id, title: section.title, first: exam.questions.length, questions: [] };
    for (const question of section.questions) {
      const q = { ...question, section: section.id, sectionTitle: plainText(section.title), number: exam.questions.length + 1 };
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
    overlay(id, answer.response, answer.marked, answer.seq ?? 0);
  }
  for (const item of await exam.outbox.pending()) {
    overlay(item.question_id, item.response, item.marked_for_review, item.seq);
  }

  exam.visited = new Set([...(session.get(key("visited")) || []), ...exam.answers.keys()]);
  exam.timeSpent = new Map(Object.entries(session.get(key("time")) || {}));
  for (const [id, answer] of Object.entries(view.answers || {})) {
    if (!exam.timeSpent.has(id) && Number.isFinite(answer.time_spent_ms)) {
      exam.timeSpent.set(id, answer.time_spent_ms);
    }
  }

  // A reopened attempt comes back to a page whose controls the submit disabled.
  for (const control of document.querySelectorAll("#question-panel button, #question-panel input, #question-panel textarea")) {
    control.disabled = false;
  }
  $("submitting").textContent = "";
  // The pictures come from this device's store, or from the server with this token; a
  // picture still missing shows its alt text until it arrives.
  exam.media = loadMedia(page.api.token, view.exam_id, view.media || []);
  buildTabs($("section-tabs"), exam.sections, openSection);
  buildPalette($("palette-groups"), exam.sections, (number) => goTo(number - 1, { focus: true }));
  session.set("ev.screen", "exam");
  page.show("exam");
  goTo(Math.min(session.get(key("current")) ?? 0, exam.questions.length - 1), { focus: true });
  for (const question of exam.questions) paint(question);

  exam.sender = new Sender({
    api: page.api,
    outbox: exam.outbox,
    attemptId: exam.attemptId,
    onState: setSaveState,
    onAck: (data) => {
      if (data.deadline) countdown.deadline = Date.parse(data.deadline);
      session.set("ev.clock", page.clock);
    },
    onClosed: () => submitAttempt(),
  });
  exam.sender.kick();
  session.set("ev.clock", page.clock); // an offline reload keeps the server's time
  countdown.start(exam.known);
  setPaused(exam.known.paused, exam.known.remaining_seconds, { onResume });
}

/** The clock fields of an attempt view or a `live` body. */
function observation(data) {
  let remaining = data.remaining_seconds;
  if (typeof remaining !== "number") {
    // A view cached by an older page: its deadline and its server time say the same.
    remaining = Math.max(0, (Date.parse(data.deadline) - Date.parse(data.server_time)) / 1000);
  }
  return {
    status: data.status,
    paused: !!data.paused,
    deadline: data.deadline,
    remaining_seconds: remaining,
    server_time: data.server_time,
  };
}

// ---------------------------------------------------------------- the exam day

/** One answer of the live poll: what changed since the server's last word. */
function onLive(live) {
  showAnnouncements(live.announcements);
  if (exam.submitting) {
    if (exam.done && live.status !== "submitted") reopen();
    else if (exam.done) checkRelease();
    return;
  }
  if (live.status === "submitted") {
    // A close, an invigilator's submit or an auto submit made elsewhere: the receipt.
    return submitAttempt();
  }
  const before = exam.known;
  const now = observation(live);
  exam.known = now;
  const notice = before ? changeNotice(timeChange(before, now)) : null;
  if (notice) showNotice(notice);
  else if (before?.paused && !now.paused) showNotice("The exam has resumed.");
  countdown.follow(now);
  setPaused(now.paused, now.remaining_seconds, { onResume });
}

// On the "Submitted" screen, a result held back (marks pending, or released at close)
// and the review can come later: asked at most every 6 polls (30 s by default).
const RELEASE_EVERY_POLLS = 6;
let releaseAskedAt = -Infinity;

async function checkRelease() {
  const showing = !$("result").hidden && !$("review-row").hidden;
  const now = performance.now();
  if (showing || now - releaseAskedAt < RELEASE_EVERY_POLLS * pollBaseMs()) return;
  releaseAskedAt = now;
  const attemptId = exam.attemptId;
  try {
    if ($("result").hidden) {
      const result = await page.api.call("GET", `/attempts/${encodeURIComponent(attemptId)}/result`);
      if (result.status !== 200 || !result.data || exam.attemptId !== attemptId || !exam.done) return;
      const titles = new Map((exam.view?.sections || []).map((section) => [section.id, section.title]));
      renderResult(result.data, titles);
    }
    if ($("review-row").hidden) await offerReview(page.api, attemptId, page.show);
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
  }
}

function onResume() {
  $("question-heading").focus();
}

/** At zero: ask the server first, since a pause or an extension may not be seen yet. */
async function timeUp() {
  const live = await exam.poller?.pollNow();
  if (exam.submitting) return;
  if (live && live.status !== "submitted" && (live.paused || live.remaining_seconds > 0)) return;
  submitAttempt();
}

/** The attempt was reopened after the "Submitted" screen: fetch it and show the exam. */
async function reopen() {
  if (exam.reopening) return;
  exam.reopening = true;
  try {
    const result = await page.api.call("GET", `/attempts/${encodeURIComponent(exam.attemptId)}`);
    if (result.status !== 200 || !result.data || result.data.status === "submitted") return;
    session.set("ev.view", result.data);
    await openExam(result.data, page);
    showNotice(reopenNotice(exam.known.remaining_seconds));
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
  } finally {
    exam.reopening = false;
  }
}

function setSaveState(state) {
  exam.saveState = state;
  const element = $("save-state");
  if (element.textContent !== SAVE_TEXT[state]) element.textContent = SAVE_TEXT[state];
  element.dataset.state = state;
}

// ---------------------------------------------------------------- changes

/**
 * Record a change to a question: the outbox gets it, with the next seq, before anything
 * else; only then does the sender hear of it.
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
  paint(question);
  const write = exam.outbox
    .add(item)
    .then((stored) => {
      if (exam.answers.get(question.id) === next) next.seq = stored.seq;
      session.set(key("answers"), Object.fromEntries(exam.answers));
      exam.sender?.kick();
    })
    .catch((error) => console.error("could not store the answer on this device", error));
  // Submit waits for every write started before it.
  exam.writes = exam.writes.then(() => write);
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
    flushTyped();
  } else {
    exam.shownSince = performance.now();
  }
});
window.addEventListener("pagehide", () => flushTyped());

// Typing (a number, or a written answer) is saved 400 ms after the last keystroke, or at
// once on leaving the field, moving to another question, hiding the page or submitting.
let typedPending = null; // {question, input, timer}

function typedEdited(question, input) {
  if (typedPending) clearTimeout(typedPending.timer);
  typedPending = { question, input, timer: setTimeout(flushTyped, NUMERIC_DEBOUNCE_MS) };
  if (exam.saveState === SAVED) setSaveState(SAVING);
}

/** The response the typed text stands for: null (blank), the text, or undefined when it
 * cannot be saved as it is (not a number; a written answer over its max_chars). */
function typedResponse(question, raw) {
  if (question.type === "text") {
    // Sent as written (line breaks and all); blank after trimming is unanswered, as on
    // the server.
    if (raw.trim() === "") return null;
    return charCount(raw) <= (question.max_chars || TEXT_DEFAULT_MAX_CHARS) ? raw : undefined;
  }
  const text = raw.trim();
  if (text === "") return null;
  return NUMERIC.test(text) ? text : undefined;
}

function flushTyped() {
  if (!typedPending) return;
  const { question, input, timer } = typedPending;
  clearTimeout(timer);
  typedPending = null;
  const response = typedResponse(question, input.value);
  const known = exam.answers.get(question.id);
  const current = known && hasResponse(known.response) ? String(known.response) : null;
  if (response !== undefined && response !== current) change(question, { response });
  else exam.sender?.kick(); // nothing to save: let the save state settle
}

// ---------------------------------------------------------------- moving around

function paint(question) {
  const state = questionState(exam.answers.get(question.id), exam.visited.has(question.id));
  paintQuestion(question.number, state, question.number - 1 === exam.current);
}

function openSection(index) {
  const section = exam.sections[index];
  if (exam.questions[exam.current]?.section !== section.id) goTo(section.first);
}

/** Show question `index` (0-based); `focus` moves keyboard focus to its heading. */
function goTo(index, { focus = false } = {}) {
  flushTyped();
  commitTime();
  const previous = exam.questions[exam.current];
  exam.current = Math.max(0, Math.min(index, exam.questions.length - 1));
  const question = exam.questions[exam.current];
  exam.visited.add(question.id);
  session.set(key("visited"), [...exam.visited]);
  session.set(key("current"), exam.current);
  showQuestion(question);
  if (previous) paint(previous);
  paint(question);
  const sectionIndex = exam.sections.findIndex((section) => section.id === question.section);
  selectTab(exam.sections.length, sectionIndex);
  $("question-panel").setAttribute("aria-labelledby", `tab-${sectionIndex} question-heading`);
  $("btn-previous").disabled = exam.current === 0;
  if (focus) $("question-heading").focus();
}

function showQuestion(question) {
  $("question-heading").textContent = `Question ${question.number}`;
  const marks = question.marks ? ` · ${formatMark(question.marks)}` : "";
  $("question-meta").textContent = `${question.sectionTitle} · ${TYPE_TEXT[question.type] ?? ""}${marks}`;
  renderQuestion($("question-body"), question, exam.answers.get(question.id)?.response ?? null, {
    choose: (response) => change(question, { response }),
    edit: (input) => typedEdited(question, input),
    commit: flushTyped,
  });
}

function next() {
  goTo((exam.current + 1) % exam.questions.length, { focus: true });
}

function current() {
  return exam.questions[exam.current];
}

$("btn-previous").addEventListener("click", () => goTo(exam.current - 1, { focus: true }));

$("btn-next").addEventListener("click", () => {
  flushTyped();
  if (exam.answers.get(current().id)?.marked) change(current(), { marked: false });
  next();
});

$("btn-mark").addEventListener("click", () => {
  flushTyped();
  if (!exam.answers.get(current().id)?.marked) change(current(), { marked: true });
  next();
});

$("btn-clear").addEventListener("click", () => {
  if (typedPending) {
    clearTimeout(typedPending.timer);
    typedPending = null;
  }
  if (hasResponse(exam.answers.get(current().id)?.response)) change(current(), { response: null });
  showQuestion(current());
  $("question-heading").focus();
});

$("btn-submit").addEventListener("click", () => {
  flushTyped();
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

// ---------------------------------------------------------------- submit

/** Submit with every unsent change (manual, at zero, or after a 409); only once. */
function submitAttempt() {
  if (!exam.submitting) exam.submitting = submitNow();
  return exam.submitting;
}

async function submitNow() {
  setPaused(false, 0);
  flushTyped();
  commitTime();
  exam.sender?.stop();
  await exam.writes;
  for (const control of document.querySelectorAll(
    "#question-panel button, #question-panel input, #question-panel textarea, #palette button",
  )) {
    control.disabled = true;
  }
  $("submitting").textContent = "Submitting your answers…";
  const data = await submitWithRetry({
    api: page.api,
    outbox: exam.outbox,
    attemptId: exam.attemptId,
    onWait: (message, offline) => {
      $("submitting").textContent = message;
      if (offline) setSaveState(OFFLINE);
    },
  });
  countdown.stop();
  setSaveState(SAVED);
  session.set("ev.screen", "submitted");
  const titles = new Map((exam.view?.sections || []).map((section) => [section.id, plainText(section.title)]));
  renderReceipt(data, exam.attemptId, titles);
  clearNotice();
  page.show("submitted");
  exam.done = true;
  await Promise.all([fillStoredCount(page.api, exam.attemptId), offerReview(page.api, exam.attemptId, page.show)]);
}
