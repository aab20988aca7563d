// What the exam day shows on the candidate's page: a notice when the time left moves, the
// pause (a full-page alertdialog that hides the questions) and the announcements. The
// poll that feeds them is live.js; attempt.js decides what each answer means.

import { formatTime, hms } from "./format.js";

const $ = (id) => document.getElementById(id);

/**
 * How many seconds of time left an observation (the attempt view or `live`) adds to the
 * one before it: the deadline's move, except across a resume, where the deadline also
 * moves by the pause's length; there the frozen time left is compared (a lower bound:
 * the time run since the resume is not known, less than one poll, and rounding to
 * minutes absorbs it).
 */
export function timeChange(before, after) {
  if (before.paused && !after.paused) return after.remaining_seconds - before.remaining_seconds;
  const moved = Date.parse(after.deadline) - Date.parse(before.deadline);
  return Number.isFinite(moved) ? moved / 1000 : 0;
}

/** The notice for a change of `seconds` of time left, or null below 20 s (noise). */
export function changeNotice(seconds) {
  const size = Math.abs(seconds);
  if (!(size >= 20)) return null;
  return `Your time was ${seconds > 0 ? "extended" : "shortened"} by ${amount(size)}.`;
}

function amount(seconds) {
  const unit = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return seconds >= 55 ? unit(Math.round(seconds / 60), "minute") : unit(Math.round(seconds), "second");
}

/** The notice for a reopened attempt. */
export function reopenNotice(remainingSeconds) {
  return `Your attempt was reopened: you have ${amount(Math.max(0, remainingSeconds))} left.`;
}

/**
 * Put `text` in the "Notices" region. The region stays hidden until its first notice (so
 * a page without one has a single status region, the save state); the text is set a
 * moment after it is shown so that screen readers, which watch live regions already on
 * the page, announce it.
 */
export function showNotice(text) {
  const region = $("notices");
  const wasHidden = region.hidden;
  region.hidden = false;
  region.textContent = "";
  setTimeout(() => (region.textContent = text), wasHidden ? 100 : 0);
}

export function clearNotice() {
  $("notices").textContent = "";
  $("notices").hidden = true;
}

const shown = new Set();

/** Add the announcements not on the page yet, newest last (each once, by id). */
export function showAnnouncements(notes) {
  const region = $("announcements");
  const fresh = (notes || []).filter((note) => !shown.has(note.id));
  if (!fresh.length) return;
  const wasHidden = region.hidden;
  region.hidden = false;
  const add = () => {
    for (const note of fresh) {
      const item = document.createElement("li");
      const time = document.createElement("time");
      time.dateTime = note.at;
      time.textContent = formatTime(note.at);
      item.append(time, " ", note.text);
      $("announcement-list").append(item);
    }
  };
  // As for notices: first on the page, then the text, so that it is announced.
  if (wasHidden) setTimeout(add, 100);
  else add();
  for (const note of fresh) shown.add(note.id);
}

let focusBeforePause = null;

/**
 * Show or hide the pause: while paused the questions, tabs and palette are hidden and the
 * alertdialog takes the focus; on resume the focus goes back to the question.
 */
export function setPaused(paused, remainingSeconds, { onResume } = {}) {
  const dialog = $("pause");
  $("pause-left").textContent = hms(Math.max(0, remainingSeconds) * 1000);
  if (paused === !dialog.hidden) return;
  dialog.hidden = !paused;
  for (const id of ["section-tabs", "exam-layout"]) $(id).hidden = paused;
  if (paused) {
    focusBeforePause = document.activeElement;
    if ($("submit-dialog").open) $("submit-dialog").close();
    dialog.focus();
  } else {
    onResume?.(focusBeforePause);
    focusBeforePause = null;
  }
}
