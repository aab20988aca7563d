// The countdown: H:MM:SS to the attempt's deadline on the server's clock, a spoken
// warning at 5 minutes and at 1 minute, and a call when it reaches zero.

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
  }

  start(deadline) {
    this.deadline = deadline;
    this.warned = Infinity;
    this.fired = false;
    this.stop();
    this.tick();
    this.interval = setInterval(() => this.tick(), 250);
  }

  stop() {
    clearInterval(this.interval);
    this.interval = null;
  }

  tick() {
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
