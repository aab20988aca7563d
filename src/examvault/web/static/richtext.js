// Rich text on the page. The server sends a question's formatted text as {"html": …},
// already checked and re-serialised; the page checks it again before showing it (defence
// in depth): it parses the markup with DOMParser (which runs no script and loads nothing),
// walks the tree, and builds new nodes for the allowed elements and attributes only. Markup
// is never given to innerHTML. Plain strings stay text (textContent), as they always were.

import { mediaUrl } from "./media.js";

const MATHML = "http://www.w3.org/1998/Math/MathML";
const HTML = "http://www.w3.org/1999/xhtml";

const HTML_ELEMENTS = new Set(
  "p br b strong i em u sub sup span div ul ol li table thead tbody tr th td caption pre code blockquote img".split(" "),
);
const MATHML_ELEMENTS = new Set(
  ("math annotation semantics merror mfrac mi mmultiscripts mn mo mover mpadded mphantom mprescripts mroot mrow " +
    "ms mspace msqrt mstyle msub msubsup msup mtable mtd mtext mtr munder munderover none menclose").split(" "),
);
const MATHML_ATTRIBUTES = new Set(
  ("dir displaystyle mathbackground mathcolor mathsize mathvariant scriptlevel display alttext form fence " +
    "separator lspace rspace stretchy symmetric maxsize minsize largeop movablelimits accent accentunder " +
    "linethickness width height depth voffset columnspan rowspan columnalign rowalign columnspacing " +
    "rowspacing columnlines rowlines frame framespacing equalrows equalcolumns notation align columnwidth " +
    "encoding").split(" "),
);
const HTML_ATTRIBUTES = { img: ["alt", "width", "height"], td: ["colspan", "rowspan"], th: ["colspan", "rowspan"] };
const NUMBER = /^[0-9]{1,5}$/;
const MATH_VALUE = /^[A-Za-z0-9#.%+\- ]{0,200}$/;
const MEDIA = /^media:([A-Za-z0-9][A-Za-z0-9_.-]{0,127})$/;

/** Is this field rich text ({"html": …}) rather than a plain string? */
export function isRich(value) {
  return value !== null && typeof value === "object" && typeof value.html === "string";
}

/** The words of a field, for places that show text only (tabs, headings, the title bar). */
export function plainText(value) {
  if (!isRich(value)) return value == null ? "" : String(value);
  const doc = new DOMParser().parseFromString(value.html, "text/html");
  return (doc.body.textContent || "").replace(/\s+/g, " ").trim();
}

/** Show `value` in `target`: text as text, rich text as checked, rebuilt nodes. */
export function renderText(target, value) {
  target.replaceChildren();
  if (!isRich(value)) {
    target.textContent = value == null ? "" : String(value);
    return;
  }
  target.classList.add("rich");
  const doc = new DOMParser().parseFromString(value.html, "text/html");
  target.append(...rebuild(doc.body.childNodes, false));
}

function rebuild(nodes, inMath) {
  const out = [];
  for (const node of nodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      out.push(document.createTextNode(node.data));
    } else if (node.nodeType === Node.ELEMENT_NODE) {
      const made = element(node, inMath);
      if (made) out.push(made);
    } // comments and anything else: never shown
  }
  return out;
}

function element(node, inMath) {
  const name = node.localName;
  if (node.namespaceURI === MATHML) {
    if (!MATHML_ELEMENTS.has(name) || (name === "math") === inMath) return null;
    const made = document.createElementNS(MATHML, name);
    for (const attr of node.attributes) {
      if (!attr.namespaceURI && MATHML_ATTRIBUTES.has(attr.name)) {
        if (attr.name === "alttext" || MATH_VALUE.test(attr.value)) made.setAttribute(attr.name, attr.value);
      }
    }
    made.append(...rebuild(node.childNodes, true));
    return made;
  }
  if (node.namespaceURI !== HTML || inMath || !HTML_ELEMENTS.has(name)) return null;
  if (name === "img") return picture(node);
  const made = document.createElement(name);
  for (const allowed of HTML_ATTRIBUTES[name] || []) {
    const value = node.getAttribute(allowed);
    if (value !== null && NUMBER.test(value)) made.setAttribute(allowed, value);
  }
  made.append(...rebuild(node.childNodes, false));
  if (name === "table") {
    // A wide table scrolls sideways in its own box instead of widening the page.
    const box = document.createElement("div");
    box.className = "table-scroll";
    box.tabIndex = 0;
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", "Table");
    box.append(made);
    return box;
  }
  return made;
}

/** A picture: scaled to the column, enlarged by its button (mouse, Enter or Space). */
function picture(node) {
  const found = MEDIA.exec(node.getAttribute("src") || "");
  const alt = (node.getAttribute("alt") || "").trim();
  if (!found || !alt) return null;
  const img = document.createElement("img");
  img.alt = alt;
  img.dataset.media = found[1];
  for (const name of ["width", "height"]) {
    const value = node.getAttribute(name);
    if (value !== null && NUMBER.test(value)) img.setAttribute(name, value);
  }
  const url = mediaUrl(found[1]);
  if (url) img.src = url;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "zoom";
  button.setAttribute("aria-label", `Enlarge picture: ${alt}`);
  button.append(img);
  button.addEventListener("click", (event) => {
    event.preventDefault(); // inside an option's label: enlarging is not choosing
    zoom(img, button);
  });
  return button;
}

function zoom(img, opener) {
  let dialog = document.getElementById("zoom-dialog");
  if (!dialog) {
    dialog = document.createElement("dialog");
    dialog.id = "zoom-dialog";
    dialog.setAttribute("aria-label", "Picture");
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close(); // a click outside the picture
    });
    dialog.append(document.createElement("img"), close);
    document.body.append(dialog);
  }
  const large = dialog.querySelector("img");
  large.alt = img.alt;
  if (img.src) large.src = img.src;
  else large.removeAttribute("src");
  dialog.addEventListener("close", () => opener.focus(), { once: true });
  dialog.showModal();
  dialog.querySelector("button").focus();
}
