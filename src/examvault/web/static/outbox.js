// The outbox: every change a student makes is written here, with its seq, before anything
// else happens, and stays here until the server has acknowledged it (accepted or stale).
// IndexedDB survives a reload, a crashed tab and a closed lid; when a browser refuses
// IndexedDB (some private modes), localStorage keeps the same promise on a smaller scale.

const DB_NAME = "examvault";
const DB_VERSION = 1;
const ITEMS = "items"; // key [attempt_id, seq]
const META = "meta"; // key attempt_id: {attempt_id, max_seq}

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

function openDatabase() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(ITEMS)) {
        db.createObjectStore(ITEMS, { keyPath: ["attempt_id", "seq"] });
      }
      if (!db.objectStoreNames.contains(META)) {
        db.createObjectStore(META, { keyPath: "attempt_id" });
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("IndexedDB blocked"));
  });
}

/** An attempt's outbox in IndexedDB; seqs are allocated inside the write transaction. */
class IdbOutbox {
  constructor(db, attemptId) {
    this.db = db;
    this.attemptId = attemptId;
  }

  /** Store a change with the next seq; resolves with the stored item once it is durable. */
  async add(change) {
    const tx = this.db.transaction([ITEMS, META], "readwrite", { durability: "strict" });
    const meta = tx.objectStore(META);
    const current = (await promisify(meta.get(this.attemptId))) || { max_seq: 0 };
    const item = { ...change, attempt_id: this.attemptId, seq: current.max_seq + 1 };
    meta.put({ attempt_id: this.attemptId, max_seq: item.seq });
    tx.objectStore(ITEMS).put(item);
    await done(tx);
    return item;
  }

  /** Every unacknowledged item of this attempt, in seq order. */
  async pending() {
    const tx = this.db.transaction(ITEMS, "readonly");
    const range = IDBKeyRange.bound([this.attemptId, 0], [this.attemptId, Infinity]);
    const items = await promisify(tx.objectStore(ITEMS).getAll(range));
    return items.sort((a, b) => a.seq - b.seq);
  }

  /** Forget the items the server has acknowledged. */
  async remove(seqs) {
    if (!seqs.length) return;
    const tx = this.db.transaction(ITEMS, "readwrite", { durability: "strict" });
    const store = tx.objectStore(ITEMS);
    for (const seq of seqs) store.delete([this.attemptId, seq]);
    await done(tx);
  }

  /** Make sure the next seq is above `seq` (the server's last_seq after a reload). */
  async raiseSeq(seq) {
    const tx = this.db.transaction(META, "readwrite");
    const meta = tx.objectStore(META);
    const current = (await promisify(meta.get(this.attemptId))) || { max_seq: 0 };
    if (seq > current.max_seq) meta.put({ attempt_id: this.attemptId, max_seq: seq });
    await done(tx);
  }
}

/** The same outbox in localStorage, for browsers that refuse IndexedDB. */
class LocalStorageOutbox {
  constructor(attemptId) {
    this.key = `examvault.outbox.${attemptId}`;
    this.attemptId = attemptId;
  }

  load() {
    try {
      return JSON.parse(localStorage.getItem(this.key)) || { max_seq: 0, items: [] };
    } catch {
      return { max_seq: 0, items: [] };
    }
  }

  save(state) {
    localStorage.setItem(this.key, JSON.stringify(state));
  }

  async add(change) {
    const state = this.load();
    const item = { ...change, attempt_id: this.attemptId, seq: state.max_seq + 1 };
    state.max_seq = item.seq;
    state.items.push(item);
    this.save(state);
    return item;
  }

  async pending() {
    return this.load().items.sort((a, b) => a.seq - b.seq);
  }

  async remove(seqs) {
    const gone = new Set(seqs);
    const state = this.load();
    state.items = state.items.filter((item) => !gone.has(item.seq));
    this.save(state);
  }

  async raiseSeq(seq) {
    const state = this.load();
    if (seq > state.max_seq) {
      state.max_seq = seq;
      this.save(state);
    }
  }
}

let database = null;

/** Open the outbox of one attempt. */
export async function openOutbox(attemptId) {
  try {
    database = database || (await openDatabase());
    return new IdbOutbox(database, attemptId);
  } catch (error) {
    console.warn("IndexedDB unavailable, keeping answers in localStorage", error);
    return new LocalStorageOutbox(attemptId);
  }
}
