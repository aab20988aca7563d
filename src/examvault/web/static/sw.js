// Service worker, served as /sw.js (scope /): keeps the student page and its scripts so a
// reload without a network (or with the server down) still opens the exam, whose answers
// wait in the IndexedDB outbox. The network comes first, so a new version is picked up at
// once; the cache answers only when the network does not, within a few seconds. The API is
// never touched here: answers go straight from the page to the server.

const CACHE = "examvault-page-v2";
const PAGE = [
  "/",
  "/static/style.css",
  "/static/exam.js",
  "/static/attempt.js",
  "/static/api.js",
  "/static/outbox.js",
  "/static/sender.js",
  "/static/format.js",
  "/static/session.js",
  "/static/countdown.js",
  "/static/palette.js",
  "/static/question.js",
  "/static/richtext.js",
  "/static/media.js",
  "/static/submit.js",
  "/static/live.js",
  "/static/examday.js",
  "/static/review.js",
];
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PAGE.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

function cacheKey(request) {
  const url = new URL(request.url);
  // Every navigation to the student page is the same page, whatever its query (?token=…).
  return url.pathname === "/" ? "/" : url.pathname;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), NETWORK_TIMEOUT_MS);
  try {
    // A navigation request cannot be re-issued with options, so fetch its URL afresh.
    const response = await fetch(request.url, { signal: controller.signal, credentials: "same-origin" });
    if (response.ok) {
      await cache.put(cacheKey(request), response.clone());
      return response;
    }
    if (response.status >= 500) {
      const cached = await cache.match(cacheKey(request));
      if (cached) return cached;
    }
    return response;
  } catch (error) {
    const cached = await cache.match(cacheKey(request));
    if (cached) return cached;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === "/" || PAGE.includes(url.pathname)) {
    event.respondWith(networkFirst(request));
  }
});
