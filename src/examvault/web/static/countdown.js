// The countdown: H:MM:SS to the attempt's deadline on the server's clock, a spoken
// warning at 5 minutes and at 1 minute, and a call when it reaches zero. While the exam
// is paused it stands still at the server's frozen time left.

import { hms } from "./format.js";

const WARNINGS = [
  { seconds: 60, text: "1 minute left.", level: "urgent" },
  { seconds: 300, text: "5 minutes left.", level: "soon" },
];

export class Countdown {
  /**
   * @param {object} options
   * @param {{now: () => number}} options.clock  the server's clock
   * @param {HTMLElement} options.display        the role=timer element
   * @param {HTMLElement} options.box            gets data-warning="soon" | "urgent"
   * @param {HTMLElement} options.announcer      an aria-live region for the warnings
   * @param {() => void} options.onZero
   */
  constructor({ clock, display, box, announcer, onZero }) {
    Object.assign(this, { clock, display, box, announcer, onZero });
    this.deadline = NaN;
    this.warned = Infinity;
    this.interval = null;
    this.fired = false;
    this.frozenMs = null;
  }

  /**
   * Follow the server's word (the attempt view or `live`): `remaining_seconds` at its
   * `server_time`, frozen while paused. A time left that grew again (an extension, a
   * reopen) re-arms the warnings and the call at zero.
   */
  follow({ remaining_seconds: remaining, server_time: serverTime, paused }) {
    const remainingMs = remaining * 1000;
    this.frozenMs = paused ? remainingMs : null;
    this.deadline = Date.parse(serverTime) + remainingMs;
    if (remainingMs > 0) this.fired = false;
    if (remaining > this.warned) {
      this.warned = Infinity;
      delete this.box.dataset.warning;
    }
    if (this.interval === null) this.interval = setInterval(() => this.tick(), 250);
    this.tick();
  }

  /** Start afresh from an observation (see `follow`). */
  start(observation) {
    this.warned = Infinity;
    this.fired = false;
    this.stop();
    delete this.box.dataset.warning;
    this.follow(observation);
  }

  stop() {
    clearInterval(this.interval);
    this.interval = null;
  }

  tick() {
    if (this.frozenMs !== null) {
      const frozen = hms(this.frozenMs);
      if (this.display.textContent !== frozen) this.display.textContent = frozen;
      return;
    }
    if (!Number.isFinite(this.deadline)) return;
    const remaining = this.deadline - this.clock.now();
    const text = hms(remaining);
    if (this.display.textContent !== text) this.display.textContent = text;
    const seconds = remaining / 1000;
    const warning = WARNINGS.find((entry) => seconds <= entry.seconds);
    if (warning && warning.seconds < this.warned) {
      this.warned = warning.seconds;
      this.box.dataset.warning = warning.level;
      if (seconds > 0) this.announcer.textContent = warning.text;
    }
    if (remaining <= 0 && !this.fired) {
      this.fired = true;
      this.announcer.textContent = "Time is up. Your answers are being submitted.";
      this.onZero();
    }
  }
}
