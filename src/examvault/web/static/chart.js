// The score distribution: an inline SVG histogram with a text alternative. Only
// attributes are used (no style attribute), as the Content-Security-Policy requires.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 260;
const MARGIN = { top: 16, right: 12, bottom: 44, left: 44 };

function round2(value) {
  return Math.round(value * 100) / 100;
}

/** The smallest "round" width (1, 2, 2.5, 4 or 5 times a power of ten) of at least `raw`. */
function niceWidth(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 4, 5, 10].find((factor) => factor * power >= raw - 1e-9);
  return step * power;
}

/** Split the scores into at most `count` bins of a round width, from min(0, lowest). */
export function bins(scores, maxScore, count = 10) {
  const highest = Math.max(maxScore ?? 0, ...scores);
  const lowest = Math.min(0, ...scores);
  const width = niceWidth(Math.max(highest - lowest, 1) / count);
  const low = Math.floor(lowest / width) * width;
  // The highest score must fall inside the last bin, which excludes its upper bound.
  const n = Math.floor((highest - low) / width + 1e-9) + 1;
  const result = Array.from({ length: n }, (_, i) => ({
    from: round2(low + i * width),
    to: round2(low + (i + 1) * width),
    count: 0,
  }));
  for (const score of scores) {
    const index = Math.min(n - 1, Math.max(0, Math.floor((score - low) / width + 1e-9)));
    result[index].count += 1;
  }
  return result;
}

/** One sentence a screen reader can read instead of the picture. */
export function describe(binList, total) {
  if (!total) return "Score distribution: no submitted attempts yet.";
  const parts = binList.map((bin) => `${bin.from} to ${bin.to}: ${bin.count}`);
  const attempts = `${total} submitted attempt${total === 1 ? "" : "s"}`;
  return `Score distribution of ${attempts}, by score range (from the lower bound up to, not including, the upper): ${parts.join("; ")}.`;
}

function node(name, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

/** The histogram as an <svg role="img"> whose name and <desc> summarise every bin. */
export function histogram(scores, maxScore) {
  const binList = bins(scores, maxScore);
  const summary = describe(binList, scores.length);
  const svg = node("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": summary,
    class: "histogram",
    preserveAspectRatio: "xMidYMid meet",
  });
  svg.append(node("title", {}, "Score distribution"), node("desc", {}, summary));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const tallest = Math.max(1, ...binList.map((bin) => bin.count));
  const barWidth = plotWidth / binList.length;
  const axis = node("g", { class: "axis", "aria-hidden": "true" });
  axis.append(
    node("line", { x1: MARGIN.left, y1: MARGIN.top + plotHeight, x2: WIDTH - MARGIN.right, y2: MARGIN.top + plotHeight }),
    node("line", { x1: MARGIN.left, y1: MARGIN.top, x2: MARGIN.left, y2: MARGIN.top + plotHeight }),
    node("text", { x: MARGIN.left - 6, y: MARGIN.top + 4, "text-anchor": "end" }, String(tallest)),
    node("text", { x: MARGIN.left - 6, y: MARGIN.top + plotHeight, "text-anchor": "end" }, "0"),
    node("text", { x: MARGIN.left + plotWidth / 2, y: HEIGHT - 4, "text-anchor": "middle" }, "Score"),
  );
  const bars = node("g", { class: "bars", "aria-hidden": "true" });
  binList.forEach((bin, i) => {
    const height = (bin.count / tallest) * plotHeight;
    const x = MARGIN.left + i * barWidth;
    bars.append(
      node("rect", {
        x: round2(x + 2),
        y: round2(MARGIN.top + plotHeight - height),
        width: round2(Math.max(1, barWidth - 4)),
        height: round2(height),
        class: "bar",
      }),
      node("text", { x: round2(x + barWidth / 2), y: MARGIN.top + plotHeight + 16, "text-anchor": "middle" }, String(bin.from)),
    );
    if (bin.count) {
      bars.append(
        node(
          "text",
          { x: round2(x + barWidth / 2), y: round2(MARGIN.top + plotHeight - height - 4), "text-anchor": "middle", class: "bar-count" },
          String(bin.count),
        ),
      );
    }
  });
  svg.append(axis, bars);
  return svg;
}
