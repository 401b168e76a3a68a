// Builds elements from data without ever parsing HTML: every string becomes a text node, so
// a message, title or token that contains markup shows as text and never runs.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attributes);
  node.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attributes);
  node.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined));
  return node;
}

function setAttributes(node, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

const TIME = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function clockTime(iso) {
  return iso ? TIME.format(new Date(iso)) : "";
}

export function dateTime(iso) {
  return iso ? DATE_TIME.format(new Date(iso)) : "—";
}

export function percent(fraction) {
  return `${Math.round(fraction * 100)}%`;
}

// A polite live region that screen readers announce, and sighted users see.
export function announce(text) {
  const region = document.getElementById("status");
  region.textContent = text;
}

// A button that cannot be used right now, without `disabled`: disabling the button a keyboard
// user just pressed would drop their focus to the top of the page. Its handler checks
// `unavailable` and does nothing meanwhile.
export function setUnavailable(button, value) {
  button.setAttribute("aria-disabled", String(value));
}

export function unavailable(button) {
  return button.getAttribute("aria-disabled") === "true";
}
