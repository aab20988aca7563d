// Delivers the outbox: PUT /attempts/{id}/answers with everything pending, forgets an item
// only when the server acknowledged its seq, and retries with jittered backoff whenever
// retrying can help (no answer, 5xx, 503, 429).

import { NetworkError, Pause, backoffMs } from "./api.js";

const BATCH = 500; // items per request: keeps a body far below the 1 MiB limit

export const SAVED = "saved";
export const SAVING = "saving";
export const OFFLINE = "offline";

/** Is this a status where the server could not do its work, so that we should wait? */
export function serverUnavailable(status) {
  return status >= 500;
}

/** Indexes of the items a 422 names (`loc: ["body", "answers", 3, ...]`). */
export function namedItems(data, count) {
  const found = new Set();
  for (const error of data?.errors || []) {
    const loc = Array.isArray(error.loc) ? error.loc : [];
    const at = loc.indexOf("answers");
    const index = at >= 0 ? loc[at + 1] : loc.find((part) => Number.isInteger(part));
    if (Number.isInteger(index) && index >= 0 && index < count) found.add(index);
  }
  return [...found];
}

export class Sender {
  /**
   * @param {object} options
   * @param {import("./api.js").Api} options.api
   * @param {object} options.outbox
   * @param {string} options.attemptId
   * @param {(state: string) => void} options.onState  SAVED, SAVING or OFFLINE
   * @param {(data: object) => void} options.onAck       a 200 body
   * @param {() => void} options.onClosed                 409: submitted or past deadline
   */
  constructor({ api, outbox, attemptId, onState, onAck, onClosed }) {
    this.api = api;
    this.outbox = outbox;
    this.attemptId = attemptId;
    this.onState = onState;
    this.onAck = onAck;
    this.onClosed = onClosed;
    this.pause = new Pause();
    this.failures = 0;
    this.offline = !navigator.onLine;
    this.running = null;
    this.again = false;
    this.stopped = false;
    this.onOnline = () => {
      // The next request tells whether the server is reachable; until then, trust this.
      this.offline = false;
      this.failures = 0;
      this.pause.interrupt();
      this.kick();
    };
    this.onOffline = () => {
      this.offline = true;
      this.report(true);
    };
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
  }

  /** Something new is in the outbox: send it (now, unless we are waiting out a backoff). */
  kick() {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) this.kick();
    });
  }

  /** Stop sending (the attempt is being submitted or is over). */
  stop() {
    this.stopped = true;
    this.pause.interrupt();
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
  }

  report(hasPending) {
    if (this.offline || !navigator.onLine) this.onState(OFFLINE);
    else this.onState(hasPending ? SAVING : SAVED);
  }

  async wait(ms) {
    await this.pause.sleep(ms);
  }

  async run() {
    while (!this.stopped) {
      this.again = false;
      const items = await this.outbox.pending();
      if (!items.length) {
        this.failures = 0;
        this.report(false);
        return;
      }
      this.report(true);
      const batch = items.slice(0, BATCH);
      let result;
      try {
        result = await this.api.call(
          "PUT",
          `/attempts/${encodeURIComponent(this.attemptId)}/answers`,
          { answers: batch.map(wireItem) },
          { timeoutMs: 6000 },
        );
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        this.offline = true;
        this.report(true);
        await this.wait(backoffMs(this.failures++));
        continue;
      }
      if (this.stopped) return;
      const { status, data } = result;
      if (status === 200 && data) {
        this.offline = false;
        const acked = [...(data.accepted || []), ...(data.stale || [])];
        const sent = new Set(batch.map((item) => item.seq));
        await this.outbox.remove(acked.filter((seq) => sent.has(seq)));
        this.onAck(data);
        if (acked.some((seq) => sent.has(seq))) {
          this.failures = 0;
        } else {
          // A 200 that acknowledged nothing we sent: do not spin on it.
          await this.wait(backoffMs(this.failures++));
        }
        continue;
      }
      if (status === 409) {
        this.offline = false;
        this.stop();
        this.onClosed(result);
        return;
      }
      if (status === 429) {
        this.offline = false;
        this.report(true);
        await this.wait((result.retryAfterMs ?? backoffMs(this.failures++)) + Math.random() * 500);
        continue;
      }
      if (serverUnavailable(status)) {
        this.offline = true;
        this.report(true);
        const ms = result.retryAfterMs ?? backoffMs(this.failures);
        this.failures++;
        await this.wait(ms + Math.random() * 500);
        continue;
      }
      this.offline = false;
      if (status === 422) {
        // Our page only makes valid items, so this is rare: drop exactly the items the
        // server names as invalid (they can never count) and keep every other one.
        const bad = namedItems(data, batch.length).map((index) => batch[index].seq);
        if (bad.length) {
          console.error("the server refused these items as invalid", bad, data);
          await this.outbox.remove(bad);
          continue;
        }
      }
      // 401/403/404/other: retrying is unlikely to help soon; keep the items and try slowly.
      console.error("saving answers failed", status, data);
      await this.wait(backoffMs(Math.max(this.failures++, 5), { capMs: 30000 }));
    }
  }
}

/** The fields the API takes for an item (the outbox also stores its attempt id). */
export function wireItem(item) {
  return {
    question_id: item.question_id,
    response: item.response,
    seq: item.seq,
    marked_for_review: item.marked_for_review,
    time_spent_ms: item.time_spent_ms,
  };
}
