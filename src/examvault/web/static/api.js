// The HTTP client shared by the pages: bearer token, time-outs (a stopped server accepts
// connections and never answers), problem+json, Retry-After, and the server's clock.

export const API = "/api/v1";

/** The server could not be reached (network down, time-out, connection refused). */
export class NetworkError extends Error {}

/** Seconds of a Retry-After header (delta-seconds or an HTTP date), or null. */
export function retryAfterMs(header) {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

/**
 * The offset from this device's clock to the server's.
 *
 * Every response carrying `server_time` is a sample: the server read its clock somewhere
 * between send and receive, so the midpoint is the best local guess for that instant. A
 * sample with a short round trip is trusted more, unless the offset jumped (someone
 * changed the device's clock), which a fresh sample must be allowed to correct.
 */
export class ServerClock {
  constructor(stored) {
    this.offsetMs = stored?.offsetMs ?? 0;
    this.rttMs = stored?.rttMs ?? Infinity;
    this.known = stored != null;
  }

  observe(serverTime, sentAt, rttMs) {
    const server = Date.parse(serverTime);
    if (!Number.isFinite(server)) return;
    const offset = server - (sentAt + rttMs / 2);
    const jumped = Math.abs(offset - this.offsetMs) > 2000 + rttMs;
    if (!this.known || jumped || rttMs <= this.rttMs * 1.5 + 50) {
      this.offsetMs = offset;
      this.rttMs = Math.min(rttMs, jumped ? rttMs : this.rttMs);
      this.known = true;
    }
  }

  /** The server's time now, in ms since the epoch. */
  now() {
    return Date.now() + this.offsetMs;
  }

  toJSON() {
    return { offsetMs: this.offsetMs, rttMs: Number.isFinite(this.rttMs) ? this.rttMs : null };
  }
}

/** One API caller with a bearer token. */
export class Api {
  constructor(token, clock = new ServerClock()) {
    this.token = token;
    this.clock = clock;
  }

  /**
   * Send a request; resolves with {status, data, retryAfterMs} for any HTTP answer and
   * rejects with NetworkError when there was none within `timeoutMs`.
   */
  async call(method, path, body, { timeoutMs = 10000, accept = "application/json" } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const headers = { Accept: accept, Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const sentAt = Date.now();
    const started = performance.now();
    try {
      const response = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        cache: "no-store",
        credentials: "omit",
      });
      const text = await response.text();
      const rtt = performance.now() - started;
      let data = null;
      if (text && (response.headers.get("Content-Type") || "").includes("json")) {
        try {
          data = JSON.parse(text);
        } catch {
          data = null;
        }
      }
      if (data && typeof data.server_time === "string") {
        this.clock.observe(data.server_time, sentAt, rtt);
      }
      return {
        status: response.status,
        data,
        text,
        retryAfterMs: retryAfterMs(response.headers.get("Retry-After")),
      };
    } catch (error) {
      throw new NetworkError(error?.name === "AbortError" ? "timed out" : String(error));
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A short human message for an error answer (problem+json when the server sent one). */
export function problemMessage(result) {
  const data = result.data || {};
  return data.detail || data.title || `The server answered ${result.status}.`;
}

/** Sleep that a caller can cut short (when the network comes back, say). */
export class Pause {
  constructor() {
    this.wake = null;
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      const self = this;
      function finish() {
        clearTimeout(timer);
        if (self.wake === finish) self.wake = null;
        resolve();
      }
      this.wake = finish;
    });
  }

  interrupt() {
    if (this.wake) this.wake();
  }
}

/** Exponential backoff with jitter: a herd of clients must not retry in step. */
export function backoffMs(failures, { baseMs = 500, capMs = 10000 } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(failures, 10));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
