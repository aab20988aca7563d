// sessionStorage as JSON, for what a reload of this tab should find again (the token, the
// last attempt view, the clock offset). A browser that refuses it only loses that
// shortcut: every answer is in the IndexedDB outbox.

export const session = {
  get(key) {
    try {
      return JSON.parse(sessionStorage.getItem(key));
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      sessionStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* full or refused */
    }
  },
  clear() {
    try {
      sessionStorage.clear();
    } catch {
      /* nothing to clear */
    }
  },
};
