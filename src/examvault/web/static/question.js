// One question on screen: options as radio buttons or checkboxes labelled with their
// text, a numeric field "Your answer" with an on-screen keypad, or a multi-line field
// "Your answer" for a written answer, with its character count. Plain text is set with
// textContent (and a field's value); rich text ({"html": …}) goes through richtext.js,
// which checks it again and builds its nodes: nothing is ever given to innerHTML.

import { hasResponse } from "./format.js";
import { isRich, renderText } from "./richtext.js";

export const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const KEYS = ["7", "8", "9", "4", "5", "6", "1", "2", "3", "0", ".", "-", "backspace"];

export const TYPE_TEXT = {
  single: "Choose one answer",
  multiple: "Choose one or more answers",
  numeric: "Type a number",
  text: "Write your answer",
};

const DEFAULT_MAX_CHARS = 5000;
// Where the polite live region speaks up about the length: not on every key, only when
// the count crosses one of these shares of max_chars (and when it goes over).
const COUNT_STEPS = [0.9, 1];

/** Characters as the server counts them: Unicode code points after NFC normalisation. */
export function charCount(text) {
  return [...text.normalize("NFC")].length;
}

/** The highest share of COUNT_STEPS that `count` has reached (0: none), for announcing. */
export function countLevel(count, max) {
  if (count > max) return 2;
  let level = 0;
  for (const share of COUNT_STEPS) if (count >= Math.floor(max * share)) level = share;
  return level;
}

/** Is this numeric text acceptable while it is being typed ("", "-", "." too)? */
export function numericOk(text) {
  return text === "" || NUMERIC.test(text) || /^[+-]?\.?$/.test(text);
}

/** The field's text after pressing a keypad key. */
export function keypadValue(value, key) {
  if (key === "backspace") return value.slice(0, -1);
  if (key === "-") return value.startsWith("-") ? value.slice(1) : `-${value}`;
  if (key === ".") return value.includes(".") ? value : `${value || "0"}.`;
  return value + key;
}

function element(name, properties = {}, attributes = {}) {
  const node = document.createElement(name);
  Object.assign(node, properties);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

/**
 * Render `question` with its current `response` into `body`.
 *
 * @param {object} handlers
 * @param {(response: any) => void} handlers.choose          an option was (un)ticked
 * @param {(input: HTMLInputElement) => void} handlers.edit  the typed text changed (numeric or written)
 * @param {() => void} handlers.commit                       save the typed text now
 */
export function renderQuestion(body, question, response, handlers) {
  body.replaceChildren();
  if (question.type === "numeric") {
    renderNumeric(body, question, response, handlers);
  } else if (question.type === "text") {
    renderWritten(body, question, response, handlers);
  } else {
    renderOptions(body, question, response, handlers);
  }
}

function renderNumeric(body, question, response, { edit, commit }) {
  const text = element(isRich(question.text) ? "div" : "p", { className: "question-text", id: "question-text" });
  renderText(text, question.text);
  const label = element("label", { htmlFor: "numeric-answer", textContent: "Your answer" });
  const input = element(
    "input",
    { id: "numeric-answer", type: "text", inputMode: "decimal", autocomplete: "off", spellcheck: false },
    { "aria-describedby": "question-text numeric-error" },
  );
  input.value = hasResponse(response) ? String(response) : "";
  const error = element("p", { id: "numeric-error", className: "error" }, { "aria-live": "polite" });
  const check = () => {
    const ok = numericOk(input.value.trim());
    input.setAttribute("aria-invalid", String(!ok));
    error.textContent = ok ? "" : "Enter a number such as 2.5, -3 or 0.25 (use a point for decimals).";
  };
  input.addEventListener("input", () => {
    check();
    edit(input);
  });
  input.addEventListener("blur", commit);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      commit();
    }
  });
  const keypad = element("div", { className: "keypad" }, { role: "group", "aria-label": "Numeric keypad" });
  for (const key of KEYS) {
    const button = element("button", { type: "button", textContent: key });
    if (key === "backspace") {
      button.textContent = "⌫";
      button.className = "wide";
      button.setAttribute("aria-label", "Backspace");
    }
    button.addEventListener("click", () => {
      input.value = keypadValue(input.value, key);
      check();
      edit(input);
    });
    keypad.append(button);
  }
  const field = element("div", { className: "numeric-field" });
  field.append(label, input, error);
  body.append(text, field, keypad);
}

function renderOptions(body, question, response, { choose }) {
  const multiple = question.type === "multiple";
  const fieldset = element("fieldset");
  const legend = element("legend", { className: "question-text" });
  renderText(legend, question.text);
  fieldset.append(legend);
  const chosen = new Set(Array.isArray(response) ? response : response == null ? [] : [response]);
  const list = element("div", { className: "options" });
  for (const option of question.options || []) {
    const label = element("label", { className: "option" });
    const input = element("input", {
      type: multiple ? "checkbox" : "radio",
      name: `q-${question.id}`,
      value: option.id,
      checked: chosen.has(option.id),
    });
    input.addEventListener("change", () => {
      if (multiple) {
        const picked = [...list.querySelectorAll("input:checked")].map((box) => box.value);
        choose(picked.length ? picked : null);
      } else if (input.checked) {
        choose(option.id);
      }
    });
    const text = element("span");
    renderText(text, option.text);
    label.append(input, text);
    list.append(label);
  }
  fieldset.append(list);
  body.append(fieldset);
}

/** The written answer: a multi-line field, its count against max_chars, and a polite
 * live region that speaks only when the count crosses 90 %, the limit, or goes over. */
function renderWritten(body, question, response, { edit, commit }) {
  const max = question.max_chars || DEFAULT_MAX_CHARS;
  const text = element("p", { className: "question-text", id: "question-text", textContent: question.text });
  const label = element("label", { htmlFor: "text-answer", textContent: "Your answer" });
  const area = element(
    "textarea",
    { id: "text-answer", rows: 10, spellcheck: true, autocomplete: "off" },
    { "aria-describedby": "question-text text-count text-error" },
  );
  area.value = typeof response === "string" ? response : "";
  // The count is visible and part of the field's description (read when the field is
  // reached), but not live: a screen reader would otherwise read it on every key.
  const count = element("p", { id: "text-count", className: "help char-count" });
  const spoken = element("p", { className: "sr-only" }, { "aria-live": "polite" });
  const error = element("p", { id: "text-error", className: "error" }, { role: "alert" });
  let level = null;
  const update = () => {
    const n = charCount(area.value);
    count.textContent = `${n} of ${max} characters`;
    const over = n > max;
    area.setAttribute("aria-invalid", String(over));
    const excess = n - max;
    const message = over ? `Too long by ${excess} character${excess === 1 ? "" : "s"}: shorten it to save it.` : "";
    if (error.textContent !== message) error.textContent = message;
    const now = countLevel(n, max);
    if (level !== null && now !== level && now > 0) {
      spoken.textContent = over ? "" : `${n} of ${max} characters used.`;
    }
    level = now;
  };
  update();
  area.addEventListener("input", () => {
    update();
    edit(area);
  });
  area.addEventListener("blur", commit);
  const field = element("div", { className: "text-field" });
  field.append(label, area, count, spoken, error);
  body.append(text, field);
}
