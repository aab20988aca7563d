// Small pure helpers for what the pages show.

/** Is this a response (not null, "", or [])? Same rule as the server's. */
export function hasResponse(response) {
  if (response === null || response === undefined || response === "") return false;
  return !(Array.isArray(response) && response.length === 0);
}

/** Milliseconds left as H:MM:SS, never negative; a started second still counts. */
export function hms(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  return `${hours}:${String(minutes).padStart(2, "0")}:${String(seconds).padStart(2, "0")}`;
}

/** "3 hours", "1 hour 30 minutes", "45 seconds". */
export function formatDuration(seconds) {
  const parts = [];
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = Math.round(seconds % 60);
  const unit = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (hours) parts.push(unit(hours, "hour"));
  if (minutes) parts.push(unit(minutes, "minute"));
  if (rest || !parts.length) parts.push(unit(rest, "second"));
  return parts.join(" ");
}

function signed(value) {
  const text = String(value);
  return text.startsWith("-") || text.startsWith("+") || Number(value) === 0 ? text : `+${text}`;
}

/** A marking object as "+4 correct, -1 wrong, partial marks". */
export function formatMark(marks) {
  // A written answer marked by a person: its maximum, from 0 in steps.
  if (marks.manual) return `up to ${marks.correct} marks, marked by an examiner`;
  const parts = [`${signed(marks.correct)} correct`];
  parts.push(`${signed(marks.wrong ?? 0)} wrong`);
  if (marks.unanswered && Number(marks.unanswered) !== 0) {
    parts.push(`${signed(marks.unanswered)} unanswered`);
  }
  if (marks.partial && marks.partial !== "none") parts.push("partial marks");
  return parts.join(", ");
}

/** A server time (RFC 3339) in the reader's own words. */
export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso ?? "");
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** A score as the API gives it (number or decimal string), without trailing zeros. */
export function formatScore(score) {
  const n = Number(score);
  return Number.isFinite(n) ? String(Math.round(n * 100) / 100) : String(score);
}
