// The invigilator page's exam-day actions: extend, pause, resume, reopen, submit for a
// candidate, announce. Each asks in a dialog (the target spelt out, a reason, minutes
// where they apply) and shows what was applied and what was skipped and why. Keyboard
// only works throughout: the dialog takes the focus, Escape cancels, and the focus goes
// back to the button that opened it.

import { NetworkError, problemMessage } from "./api.js";
import { formatTime } from "./format.js";

const $ = (id) => document.getElementById(id);

const ACTIONS = {
  extend: { title: "Extend time", minutes: true, verb: "Extend the time of" },
  pause: { title: "Pause", verb: "Pause the exam of" },
  resume: { title: "Resume", verb: "Resume the exam of" },
  reopen: { title: "Reopen", minutes: true, verb: "Reopen the submitted attempt of" },
  submit: { title: "Submit for candidate", verb: "Submit the answers of" },
  announce: { title: "Announce", verb: "Announce to" },
};

const WHY = {
  not_started: "has not started",
  ended: "the time is over",
  submitted: "already submitted",
  already_paused: "already paused",
  not_paused: "not paused",
  not_submitted: "not submitted",
  exam_closed: "the exam is closed",
};

const STATUS = { in_progress: "in progress", paused: "paused", submitted: "submitted", absent: "not started" };

/** The candidate ids whose checkbox is ticked, in table order. */
export function selectedIds() {
  return [...document.querySelectorAll("#candidate-rows input[type=checkbox]:checked")].map((box) => box.value);
}

let page = null; // what admin.js lends: call, examId, target, rooms, staffRooms, isAdmin, refresh
let open = null; // {action, opener, target}

/** Wire the toolbar and the dialog to the page (admin.js). */
export function initActions(options) {
  page = options;
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => openDialog(button.dataset.action, button));
  }
  $("act-cancel").addEventListener("click", () => $("act-dialog").close());
  $("act-dialog").addEventListener("close", () => {
    const opener = open?.opener;
    open = null;
    opener?.focus();
  });
  $("act-form").addEventListener("submit", (event) => {
    event.preventDefault();
    confirm();
  });
}

function openDialog(action, opener) {
  const spec = ACTIONS[action];
  const target = page.target();
  open = { action, opener, target };
  $("act-title").textContent = spec.title;
  $("minutes-row").hidden = !spec.minutes;
  $("act-minutes").value = action === "reopen" ? "15" : "10";
  $("act-minutes").min = "1";
  const announcing = action === "announce";
  $("announce-room-row").hidden = !announcing;
  // The announcement's text is the dialog's one text field, kept under the name
  // "Reason" that every action's field has (docs/api.md, The invigilator's page).
  $("act-reason-label").textContent = announcing ? "Reason: the announcement candidates will see" : "Reason";
  $("act-reason").maxLength = announcing ? 2000 : 500;
  $("act-reason").value = "";
  $("act-error").textContent = "";
  if (announcing) {
    const select = $("act-room");
    const own = page.staffRooms();
    const everyone = own ? `All your rooms (${own.join(", ")})` : "Everyone in this exam";
    select.replaceChildren(new Option(everyone, ""));
    for (const room of own ?? page.rooms()) select.append(new Option(`Room ${room}`, room));
    select.value = target.room ?? "";
    $("act-target").textContent = "The announcement appears on the candidates' pages within seconds.";
  } else {
    $("act-target").textContent = `${spec.verb} ${target.text}.`;
  }
  $("act-confirm").disabled = false;
  $("act-dialog").showModal();
  (spec.minutes ? $("act-minutes") : announcing ? $("act-room") : $("act-reason")).focus();
}

/** The request body, or a message saying what to fix. */
function requestOf(action, target) {
  const reason = $("act-reason").value.trim();
  if (action === "announce") {
    if (!reason) return { error: "Write the announcement." };
    return { path: "announcements", body: { text: reason, room: $("act-room").value || null } };
  }
  if (!reason) return { error: "Give a reason: it is kept in the audit trail." };
  const body = { action, reason, ...target.body };
  if (ACTIONS[action].minutes) {
    const minutes = Number($("act-minutes").value);
    // Whole minutes: 1 to 1440 fits both extend (1 s–24 h) and reopen (60 s–24 h).
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      return { error: "Minutes: a whole number from 1 to 1440." };
    }
    body.seconds = minutes * 60;
  }
  return { path: "actions", body };
}

async function confirm() {
  if (!open) return;
  const { action, target } = open;
  const request = requestOf(action, target);
  if (request.error) {
    $("act-error").textContent = request.error;
    return;
  }
  const examId = page.examId();
  $("act-confirm").disabled = true;
  $("act-error").textContent = "Sending…";
  let result;
  try {
    result = await page.call("POST", `/exams/${encodeURIComponent(examId)}/${request.path}`, request.body);
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    // Not known whether it was applied: the same body again would be a second action.
    $("act-error").textContent = "The server cannot be reached; check the table before trying again.";
    $("act-confirm").disabled = false;
    return;
  }
  if (result.status !== 200 && result.status !== 201) {
    $("act-error").textContent = `Not done: ${problemMessage(result)}`;
    $("act-confirm").disabled = false;
    return;
  }
  $("act-dialog").close();
  if (action === "announce") showAnnounced(result.data);
  else showOutcome(ACTIONS[action].title, result.data);
  for (const box of document.querySelectorAll("#candidate-rows input[type=checkbox]")) box.checked = false;
  page.refresh();
}

function item(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

/** The outcome of an action: a list headed "Applied", a list headed "Skipped" with why. */
function showOutcome(title, data) {
  const applied = data.applied || [];
  const skipped = data.skipped || [];
  $("outcome-title").textContent = `${title}: ${applied.length} applied, ${skipped.length} skipped`;
  $("applied-list").replaceChildren(
    ...(applied.length ? applied : [null]).map((row) =>
      row
        ? item(
            `${row.candidate_id}: ${STATUS[row.status] ?? row.status}` +
              (row.deadline ? `, deadline ${formatTime(row.deadline)}` : ""),
          )
        : item("nobody"),
    ),
  );
  $("skipped-list").replaceChildren(
    ...(skipped.length ? skipped : [null]).map((row) =>
      row ? item(`${row.candidate_id}: ${WHY[row.why] ?? row.why} (${row.why})`) : item("nobody"),
    ),
  );
  $("outcome").hidden = false;
  $("skipped-list").parentElement.hidden = false;
}

function showAnnounced(note) {
  $("outcome-title").textContent = "Announcement sent";
  $("applied-list").replaceChildren(
    item(`${note.room ? `Room ${note.room}` : "Everyone"} at ${formatTime(note.at)}: ${note.text}`),
  );
  $("skipped-list").parentElement.hidden = true;
  $("outcome").hidden = false;
}
