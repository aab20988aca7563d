// Submit: POST /attempts/{id}/submit carrying every unsent change, retried until a 200
// arrives (the submit is idempotent), then the result or the receipt.

import { NetworkError, Pause, backoffMs, problemMessage } from "./api.js";
import { formatScore, formatTime, hasResponse } from "./format.js";
import { namedItems, wireItem } from "./sender.js";

const $ = (id) => document.getElementById(id);

/**
 * Submit the attempt with the outbox's items; resolves with the 200 body once the server
 * has sealed it, after clearing the outbox of what the body carried.
 *
 * @param {object} options
 * @param {(message: string, offline: boolean) => void} options.onWait  why we are retrying
 */
export async function submitWithRetry({ api, outbox, attemptId, onWait }) {
  const pause = new Pause();
  const path = `/attempts/${encodeURIComponent(attemptId)}/submit`;
  let unexplained = 0;
  for (let failures = 0; ; failures++) {
    const items = await outbox.pending();
    // A 422 that names no item would block the submit for ever: after three, seal the
    // attempt without the body (the items stay in the outbox, the server keeps the rest).
    const body = unexplained >= 3 ? {} : { answers: items.map(wireItem) };
    let result;
    try {
      result = await api.call("POST", path, body, { timeoutMs: 15000 });
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      onWait("Submitting your answers… waiting for the connection.", true);
      await pause.sleep(backoffMs(failures));
      continue;
    }
    if (result.status === 200 && result.data) {
      if (body.answers) await outbox.remove(items.map((item) => item.seq));
      return result.data;
    }
    if (result.status === 429 || result.status >= 500) {
      onWait("Submitting your answers… the server is busy.", result.status >= 500);
      await pause.sleep((result.retryAfterMs ?? backoffMs(failures)) + Math.random() * 500);
      continue;
    }
    if (result.status === 422) {
      const bad = namedItems(result.data, items.length).map((index) => items[index].seq);
      if (bad.length) {
        console.error("the server refused these items as invalid", bad, result.data);
        await outbox.remove(bad);
      } else {
        unexplained++;
      }
      continue;
    }
    onWait(`Submitting failed: ${problemMessage(result)} Trying again…`, false);
    await pause.sleep(backoffMs(Math.max(failures, 4), { capMs: 30000 }));
  }
}

/** Fill the "Submitted" screen: the result when released, and always the receipt. */
export function renderReceipt(data, attemptId, sectionTitles) {
  const notes = {
    auto: "The time ended and the server submitted your answers.",
    invigilator: "An invigilator submitted your answers.",
  };
  const note = notes[data.submit_kind] ?? "Your answers have been submitted.";
  const late = data.late?.length
    ? ` ${data.late.length} change(s) reached the server after the deadline and do not count.`
    : "";
  $("submitted-note").textContent = note + late;
  renderResult(data.result, sectionTitles);
  $("receipt-attempt").textContent = attemptId;
  const time = document.createElement("time");
  time.dateTime = data.submitted_at;
  time.textContent = formatTime(data.submitted_at);
  $("receipt-time").replaceChildren(time);
  $("receipt-count").textContent = "…";
}

/** Show the released result ("Score: X / Y" and the section scores), or hide it (null). */
export function renderResult(result, sectionTitles) {
  $("result").hidden = !result;
  if (!result) return;
  $("score").textContent = `Score: ${formatScore(result.score)} / ${formatScore(result.max_score)}`;
  const body = $("section-scores");
  body.replaceChildren();
  for (const section of result.sections || []) {
    const row = body.insertRow();
    const head = document.createElement("th");
    head.scope = "row";
    head.textContent = sectionTitles.get(section.id) ?? section.id;
    row.append(head);
    row.insertCell().textContent = `${formatScore(section.score)} / ${formatScore(section.max_score)}`;
  }
}

/** Put the number of answers the server holds for the attempt on the receipt. */
export async function fillStoredCount(api, attemptId) {
  const pause = new Pause();
  for (let failures = 0; failures < 5; failures++) {
    try {
      const result = await api.call("GET", `/attempts/${encodeURIComponent(attemptId)}`);
      if (result.status === 200 && result.data) {
        const answers = Object.values(result.data.answers || {});
        $("receipt-count").textContent = String(answers.filter((a) => hasResponse(a.response)).length);
        return;
      }
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
    }
    await pause.sleep(backoffMs(failures));
  }
  $("receipt-count").textContent = "not known yet (the server could not be reached)";
}
