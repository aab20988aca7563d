// The review of a released attempt (GET /attempts/{id}/review): each question with the
// response, "Score: X / Y", the marker's comment and, when the exam shows keys, "Correct
// answer: …". It is read only: options are shown as disabled radio buttons and
// checkboxes, typed answers as text. Everything is set with textContent.

import { NetworkError } from "./api.js";
import { formatScore, hasResponse } from "./format.js";

const $ = (id) => document.getElementById(id);

const OUTCOME = {
  correct: "correct",
  wrong: "wrong",
  partial: "partly correct",
  unanswered: "not answered",
  pending: "not marked yet",
};

let review = null; // the last review body, once the server offered it

function element(name, properties = {}) {
  const node = document.createElement(name);
  Object.assign(node, properties);
  return node;
}

/**
 * Ask whether the review is open (200) and show the "Review your answers" link if so; a
 * 409 (not released, marks pending, or no review for this exam) keeps it hidden.
 */
export async function offerReview(api, attemptId, show) {
  review = null;
  $("review-row").hidden = true;
  let result;
  try {
    result = await api.call("GET", `/attempts/${encodeURIComponent(attemptId)}/review`);
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    return;
  }
  if (result.status !== 200 || !result.data) return;
  review = result.data;
  $("review-row").hidden = false;
  if (location.hash === "#review") openReview(show);
}

function openReview(show) {
  if (!review) return;
  render(review);
  show("review");
}

/** Follow the link (and the browser's back button) between the result and the review. */
export function watchReviewLink(show) {
  window.addEventListener("hashchange", () => {
    if (!review) return;
    if (location.hash === "#review") openReview(show);
    else show("submitted");
  });
}

/** The accepted answer in words: option texts, a number with its tolerance or range, or
 * the accepted strings. */
export function keyText(question) {
  const key = question.key;
  const optionText = (id) => question.options?.find((option) => option.id === id)?.text ?? id;
  if (question.type === "single") return optionText(key);
  if (question.type === "multiple") return (Array.isArray(key) ? key : [key]).map(optionText).join(", ");
  if (question.type === "numeric" && key && typeof key === "object") {
    if ("min" in key) return `from ${key.min} to ${key.max}`;
    return Number(key.tolerance ?? 0) ? `${key.value} ± ${key.tolerance}` : String(key.value);
  }
  if (Array.isArray(key)) return key.map((text) => `“${text}”`).join(" or ");
  return String(key);
}

function renderResponse(question) {
  const response = question.response;
  if (question.type === "single" || question.type === "multiple") {
    const fieldset = element("fieldset", { disabled: true });
    fieldset.append(element("legend", { className: "sr-only", textContent: "Your answer" }));
    const chosen = new Set(Array.isArray(response) ? response : response == null ? [] : [response]);
    for (const option of question.options || []) {
      const label = element("label", { className: "option" });
      const input = element("input", {
        type: question.type === "multiple" ? "checkbox" : "radio",
        name: `review-${question.id}`,
        value: option.id,
        checked: chosen.has(option.id),
        disabled: true,
      });
      label.append(input, element("span", { textContent: option.text }));
      fieldset.append(label);
    }
    return [fieldset];
  }
  const label = element("p", { className: "review-label", textContent: "Your answer:" });
  const text = hasResponse(response) ? String(response) : "Not answered";
  return [label, element("p", { className: "review-response", textContent: text })];
}

function render(data) {
  const body = $("review-body");
  body.replaceChildren();
  let number = 0;
  for (const section of data.sections) {
    const part = element("section", { className: "review-section" });
    part.append(element("h2", { textContent: section.title || section.id }));
    for (const question of section.questions) {
      number += 1;
      const item = element("article", { className: "review-question" });
      item.append(
        element("h3", { textContent: `Question ${number}` }),
        element("p", { className: "question-text", textContent: question.text }),
        ...renderResponse(question),
      );
      const outcome = OUTCOME[question.outcome] ?? question.outcome ?? "";
      item.append(
        element("p", {
          className: "review-score",
          textContent: `Score: ${formatScore(question.score)} / ${formatScore(question.max_score)}${outcome ? ` (${outcome})` : ""}`,
        }),
      );
      if (question.comment) {
        item.append(element("p", { className: "review-comment", textContent: `Marker's comment: ${question.comment}` }));
      }
      if ("key" in question) {
        item.append(element("p", { className: "review-key", textContent: `Correct answer: ${keyText(question)}` }));
      }
      part.append(item);
    }
    body.append(part);
  }
}
