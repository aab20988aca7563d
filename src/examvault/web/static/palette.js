// The section tabs and the question palette: one button per question, grouped by
// section, named "Question N <state>" with the five familiar states.

import { plainText } from "./richtext.js";
import { hasResponse } from "./format.js";

const STATE_CLASS = {
  "not visited": "state-not-visited",
  "not answered": "state-not-answered",
  answered: "state-answered",
  "marked for review": "state-marked",
  "answered and marked for review": "state-answered-marked",
};

/** The palette state of a question from its answer ({response, marked}) and a visit. */
export function questionState(answer, visited) {
  const answered = !!answer && hasResponse(answer.response);
  const marked = !!answer?.marked;
  if (answered && marked) return "answered and marked for review";
  if (marked) return "marked for review";
  if (answered) return "answered";
  return visited ? "not answered" : "not visited";
}

/** Section tabs (role tab) with arrow-key movement; `open(index)` shows a section. */
export function buildTabs(container, sections, open) {
  container.replaceChildren();
  sections.forEach((section, index) => {
    const tab = document.createElement("button");
    tab.type = "button";
    tab.id = `tab-${index}`;
    tab.textContent = plainText(section.title);
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", "question-panel");
    tab.addEventListener("click", () => open(index));
    tab.addEventListener("keydown", (event) => {
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: sections.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const target = (moves[event.key] + sections.length) % sections.length;
      open(target);
      document.getElementById(`tab-${target}`).focus();
    });
    container.append(tab);
  });
}

/** Mark the tab of section `selected` as selected (and the only one in the Tab order). */
export function selectTab(count, selected) {
  for (let i = 0; i < count; i++) {
    const tab = document.getElementById(`tab-${i}`);
    tab.setAttribute("aria-selected", String(i === selected));
    tab.tabIndex = i === selected ? 0 : -1;
  }
}

/** One group per section, one button per question; `go(number)` opens a question. */
export function buildPalette(container, sections, go) {
  container.replaceChildren();
  sections.forEach((section, index) => {
    const group = document.createElement("div");
    group.className = "palette-group";
    group.setAttribute("role", "group");
    const title = document.createElement("h3");
    title.id = `palette-section-${index}`;
    title.textContent = plainText(section.title);
    group.setAttribute("aria-labelledby", title.id);
    const list = document.createElement("ul");
    for (const question of section.questions) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.id = `palette-${question.number}`;
      button.textContent = String(question.number);
      button.addEventListener("click", () => go(question.number));
      item.append(button);
      list.append(item);
    }
    group.append(title, list);
    container.append(group);
  });
}

/** Show one question's state (and whether it is the current one) on its button. */
export function paintQuestion(number, state, current) {
  const button = document.getElementById(`palette-${number}`);
  if (!button) return;
  const label = `Question ${number} ${state}`;
  if (button.getAttribute("aria-label") !== label) button.setAttribute("aria-label", label);
  button.className = `palette-button ${STATE_CLASS[state]}`;
  button.dataset.state = state;
  if (current) button.setAttribute("aria-current", "true");
  else button.removeAttribute("aria-current");
}
