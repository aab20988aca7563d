// An exam's pictures on this device. A picture needs the candidate's token, which an
// <img src> cannot send, so the page fetches each one with it when the attempt opens,
// keeps the bytes in IndexedDB (a reload without a network still shows every picture)
// and shows them from blob: URLs (the CSP allows img-src 'self' blob:).

const DB_NAME = "examvault-media";
const DB_VERSION = 1;
const STORE = "media"; // key "exam_id/name": {key, blob, etag}
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const urls = new Map(); // name → blob: URL, for the exam on screen
let examOnScreen = null;

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

let opening = null;
function openDatabase() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("IndexedDB blocked"));
  });
  return opening;
}

async function stored(db, key) {
  return promisify(db.transaction(STORE, "readonly").objectStore(STORE).get(key));
}

async function keep(db, entry) {
  const tx = db.transaction(STORE, "readwrite");
  tx.objectStore(STORE).put(entry);
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

async function fetchPicture(token, examId, name) {
  const response = await fetch(`/api/v1/exams/${encodeURIComponent(examId)}/media/${encodeURIComponent(name)}`, {
    headers: { Authorization: `Bearer ${token}` },
    credentials: "omit",
  });
  if (!response.ok) throw new Error(`picture ${name}: ${response.status}`);
  const type = (response.headers.get("Content-Type") || "").split(";")[0].trim();
  if (!/^image\/(png|jpeg|gif|webp)$/.test(type)) throw new Error(`picture ${name}: ${type}`);
  return { blob: await response.blob(), etag: response.headers.get("ETag") || "" };
}

/** The blob: URL of a picture of the exam on screen, or null while it is not here. */
export function mediaUrl(name) {
  return urls.get(name) ?? null;
}

/**
 * Make every picture of `examId` available: from this device when it has them, else from
 * the server with `token`. Resolves with the names still missing (none, when all is well).
 */
export async function loadMedia(token, examId, names) {
  if (examOnScreen !== examId) {
    for (const url of urls.values()) URL.revokeObjectURL(url);
    urls.clear();
    examOnScreen = examId;
  }
  let db = null;
  try {
    db = await openDatabase();
  } catch (error) {
    console.warn("no offline store for pictures", error);
  }
  const missing = [];
  await Promise.all(
    (names || []).filter((name) => NAME.test(name)).map(async (name) => {
      if (urls.has(name)) return;
      const key = `${examId}/${name}`;
      try {
        let entry = db ? await stored(db, key) : null;
        if (!entry) {
          entry = { key, ...(await fetchPicture(token, examId, name)) };
          if (db) await keep(db, entry);
        }
        urls.set(name, URL.createObjectURL(entry.blob));
      } catch (error) {
        console.warn(error);
        missing.push(name);
      }
    }),
  );
  showPictures(document);
  return missing;
}

/** Give each picture under `root` its blob: URL, once it is here. */
export function showPictures(root) {
  for (const img of root.querySelectorAll("img[data-media]")) {
    const url = urls.get(img.dataset.media);
    if (url && img.getAttribute("src") !== url) img.src = url;
  }
}
