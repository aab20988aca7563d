// The candidate page's poll of GET /attempts/{id}/live: every 5–9 s with jitter (so
// 10,000 pages do not ask in step), at once when the network comes back or the tab is
// shown again. What the answer means for the page is attempt.js's and examday.js's.

import { NetworkError } from "./api.js";

const BASE_MS = 5000;
// Tests may shorten the interval (never lengthen it) through this localStorage key.
const KNOB = "ev.livePollMs";

/** The base interval: 5 s, or a shorter one set under `ev.livePollMs` (at least 200 ms). */
export function pollBaseMs() {
  let wanted = NaN;
  try {
    wanted = Number(localStorage.getItem(KNOB));
  } catch {
    /* storage refused: the default */
  }
  return Number.isFinite(wanted) && wanted >= 200 ? Math.min(wanted, BASE_MS) : BASE_MS;
}

/** One interval: base to 1.8 × base (5–9 s by default, so a change shows within 10 s). */
export function nextDelayMs(base = pollBaseMs()) {
  return base + Math.random() * 0.8 * base;
}

export class LivePoller {
  /**
   * @param {object} options
   * @param {import("./api.js").Api} options.api
   * @param {string} options.attemptId
   * @param {(live: object) => void} options.onLive  each 200 body
   */
  constructor({ api, attemptId, onLive }) {
    Object.assign(this, { api, attemptId, onLive });
    this.timer = null;
    this.inflight = null;
    this.running = false;
    this.onOnline = () => this.pollNow();
    this.onVisible = () => {
      if (document.visibilityState === "visible") this.pollNow();
    };
  }

  start() {
    if (this.running) return;
    this.running = true;
    window.addEventListener("online", this.onOnline);
    document.addEventListener("visibilitychange", this.onVisible);
    this.schedule();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    window.removeEventListener("online", this.onOnline);
    document.removeEventListener("visibilitychange", this.onVisible);
  }

  schedule() {
    clearTimeout(this.timer);
    if (this.running) this.timer = setTimeout(() => this.pollNow(), nextDelayMs());
  }

  /** Ask now (one request at a time); resolves with the live body, or null. */
  pollNow() {
    if (!this.inflight) {
      clearTimeout(this.timer);
      this.inflight = this.ask().finally(() => {
        this.inflight = null;
        this.schedule();
      });
    }
    return this.inflight;
  }

  async ask() {
    let result;
    try {
      const path = `/attempts/${encodeURIComponent(this.attemptId)}/live`;
      result = await this.api.call("GET", path, undefined, { timeoutMs: 8000 });
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      return null; // offline: the sender says so; the next poll (or `online`) tries again
    }
    if (result.status !== 200 || !result.data) return null;
    if (this.running) this.onLive(result.data);
    return result.data;
  }
}
