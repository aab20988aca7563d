// The student's exam page, its shell: sign in, instructions, start or resume; the attempt
// itself (questions, outbox, countdown, submit) is attempt.js. Accessible names are the ones tests/browser checks.

import { plainText, renderText } from "./richtext.js";
import { Api, NetworkError, Pause, ServerClock, backoffMs, problemMessage } from "./api.js";
import { openExam } from "./attempt.js";
import { formatDuration, formatMark, formatTime } from "./format.js";
import { watchReviewLink } from "./review.js";
import { session } from "./session.js";

const $ = (id) => document.getElementById(id);

const clock = new ServerClock(session.get("ev.clock") || undefined);
let api = null;
let me = null;

// ---------------------------------------------------------------- screens

const SCREENS = ["signin", "instructions", "exam", "submitted", "review"];

function show(name) {
  $("loading").hidden = true;
  for (const screen of SCREENS) $(`screen-${screen}`).hidden = screen !== name;
  const title = plainText(me?.exam?.title) || "Exam";
  const titles = {
    signin: "Sign in · examvault",
    instructions: `${title} · instructions`,
    exam: `${title} · examvault`,
    submitted: "Submitted · examvault",
    review: `${title} · review`,
  };
  document.title = titles[name];
  $("topbar-title").textContent = name === "signin" || name === "exam" ? "" : title;
  $("exam-heading").textContent = title;
  if (["instructions", "submitted", "review"].includes(name)) $(`screen-${name}`).querySelector("h1").focus();
}

// ---------------------------------------------------------------- sign in

function showSignIn(message = "") {
  show("signin");
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

/** A reload in the middle of the exam goes straight back to it, online or not. */
function afterSignIn({ offline }) {
  const attempt = me.attempt;
  const wasInExam = ["exam", "submitted"].includes(session.get("ev.screen"));
  if ((attempt && (attempt.status === "submitted" || wasInExam)) || (offline && wasInExam)) {
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
  const info = me.exam;
  renderText($("exam-title"), info.title);
  $("candidate-line").textContent = `Candidate: ${me.name ? `${me.name} (${me.candidate_id})` : me.candidate_id}`;
  $("exam-duration").textContent = formatDuration(info.duration_seconds);
  const window = [
    info.opens_at ? `from ${formatTime(info.opens_at)}` : "",
    info.closes_at ? `until ${formatTime(info.closes_at)}` : "",
  ].filter(Boolean);
  $("exam-window-row").hidden = window.length === 0;
  $("exam-window").textContent = window.join(" ");
  $("exam-instructions").hidden = !info.instructions;
  renderText($("exam-instructions"), info.instructions || "");
  // A section's own instructions, under its title (rich text is checked by renderText).
  const notes = $("section-instructions");
  notes.replaceChildren();
  for (const section of info.sections.filter((s) => s.instructions)) {
    const head = document.createElement("h3");
    head.textContent = plainText(section.title);
    const text = document.createElement("div");
    text.className = "exam-instructions";
    renderText(text, section.instructions);
    notes.append(head, text);
  }
  const body = $("sections-body");
  body.replaceChildren();
  for (const section of info.sections) {
    const row = body.insertRow();
    const head = document.createElement("th");
    head.scope = "row";
    head.textContent = plainText(section.title);
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

/** POST the attempt (start or resume); without a network, the last view of this tab. */
async function enterAttempt() {
  if (entering) return;
  entering = true;
  $("start-button").disabled = true;
  const pause = new Pause();
  try {
    for (let failures = 0; ; failures++) {
      let result;
      try {
        result = await api.call("POST", `/exams/${encodeURIComponent(me.exam.id)}/attempts`);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        const cached = session.get("ev.view");
        if (cached && cached.exam_id === me.exam.id) return await openExam(cached, { api, clock, show });
        notifyStart("The server cannot be reached. Trying again…");
        await pause.sleep(backoffMs(failures));
        continue;
      }
      if (result.status === 200 || result.status === 201) {
        session.set("ev.view", result.data);
        return await openExam(result.data, { api, clock, show });
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
    $("start-button").disabled = false;
  }
}

function notifyStart(message) {
  if ($("screen-instructions").hidden) showInstructions();
  $("start-error").textContent = message;
}

// ---------------------------------------------------------------- start

function start() {
  watchReviewLink(show);
  const params = new URLSearchParams(location.search);
  const fromLink = params.get("token");
  if (fromLink !== null) {
    // The token must not stay in the address bar, the history or a bookmark.
    params.delete("token");
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? `?${query}` : "") + location.hash);
  }
  // The service worker keeps this page and its scripts, so that a reload without a
  // network still opens the exam and its outbox.
  navigator.serviceWorker?.register("/sw.js", { scope: "/" }).catch((error) => {
    console.warn("no offline copy of the page", error);
  });
  const token = (fromLink || "").trim() || session.get("ev.token");
  if (token) signIn(token);
  else showSignIn();
}

start();
