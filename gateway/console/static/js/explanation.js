// An explanation drawn on the message itself: each word piece tinted by its weight, warm
// when it pushed towards the predicted label, cool when it pushed away, stronger for a larger
// share. Direction is also in the underline (solid / dashed) and every weight is shown as a
// number on hover and focus, so colour is never the only carrier of meaning.

import { el } from "./dom.js";

const SPECIAL = new Set(["[CLS]", "[SEP]", "[PAD]", "<s>", "</s>"]);

export function explainedText(weights, label) {
  const pieces = weights.filter(([token]) => !SPECIAL.has(token));
  const largest = Math.max(...pieces.map(([, weight]) => Math.abs(weight)), 1e-9);
  const text = el("p", { class: "explained" });
  pieces.forEach(([token, weight], index) => {
    const continues = token.startsWith("##");
    if (index > 0 && !continues) text.append(" ");
    const signed = `${weight >= 0 ? "+" : "−"}${Math.abs(weight).toFixed(3)}`;
    const piece = el(
      "span",
      { class: `token ${weight >= 0 ? "toward" : "against"}`, tabindex: 0 },
      continues ? token.slice(2) : token,
      el("span", { class: "weight" }, ` ${signed}`),
    );
    // CSSOM, not a style attribute: the CSP forbids inline styles, not this.
    piece.style.setProperty("--strength", (Math.abs(weight) / largest).toFixed(3));
    text.append(piece);
  });
  return el("figure", { class: "explanation" }, el("figcaption", {}, label), text);
}

export function legend() {
  return el(
    "ul",
    { class: "legend", "aria-label": "How to read the highlighting" },
    el("li", {}, el("span", { class: "swatch toward", "aria-hidden": "true" }), "pushes towards the prediction (solid underline)"),
    el("li", {}, el("span", { class: "swatch against", "aria-hidden": "true" }), "pushes away from it (dashed underline)"),
    el("li", {}, "Stronger colour: larger share. Hover or focus a word for its weight; weights add up to 1 in absolute value."),
  );
}
