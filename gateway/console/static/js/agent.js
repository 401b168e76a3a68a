// The agent's view: a customer message in; its labels, suggestions and explanation out;
// feedback on each suggestion; the conversation's messages so far, newest first (this tab only).

import { ApiError, call } from "./api.js";
import { announce, clockTime, el, percent, setUnavailable, unavailable } from "./dom.js";
import { explainedText, legend } from "./explanation.js";
import { refuseView, withKey } from "./session.js";

const history = new Map(); // conversation id -> [{text, reply, at}], for this page's life

function randomId(prefix) {
  return `${prefix}-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
}

function start() {
  const form = document.getElementById("chat-form");
  form.elements.conversation_id.value ||= randomId("conv");
  form.elements.customer_id.value ||= randomId("cust");
  form.elements.conversation_id.addEventListener("change", () => showHistory(form.elements.conversation_id.value));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form);
  });
}

async function send(form) {
  const request = {
    conversation_id: form.elements.conversation_id.value.trim(),
    customer_id: form.elements.customer_id.value.trim(),
    channel: form.elements.channel.value,
    text: form.elements.text.value,
    explain: form.elements.explain.checked,
  };
  const button = form.querySelector("button[type=submit]");
  if (unavailable(button)) return; // one message at a time, however it was submitted
  setUnavailable(button, true);
  announce("Classifying…");
  try {
    const reply = await call("POST", "/v1/chat", request);
    showReply(reply, request);
    const turns = history.get(request.conversation_id) ?? [];
    turns.push({ text: request.text, reply, at: new Date().toISOString() });
    history.set(request.conversation_id, turns);
    showHistory(request.conversation_id);
    form.elements.text.value = "";
    announce(`Classified as ${reply.sentiment}, intent ${reply.intent}.`);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      refuseView(error, "a client");
    } else {
      announce(`Not sent: ${error.message}`);
    }
  } finally {
    setUnavailable(button, false);
  }
}

function showReply(reply, request) {
  const result = document.getElementById("result");
  result.hidden = false;
  document.getElementById("labels").replaceChildren(...labels(reply));
  document.getElementById("suggestions").replaceChildren(...reply.suggestions.map((s) => suggestion(s, reply, request)));
  if (!reply.suggestions.length) document.getElementById("suggestions").append(el("li", {}, "No suggestions for this message."));
  const why = document.getElementById("why");
  if (reply.explanation) {
    why.replaceChildren(
      legend(),
      explainedText(reply.explanation.sentiment, `Sentiment: ${reply.sentiment}`),
      explainedText(reply.explanation.intent, `Intent: ${reply.intent}`),
    );
  } else {
    why.replaceChildren(el("p", {}, "Tick “Explain” to see which words decided."));
  }
}

function labels(reply) {
  const rows = [
    el("dt", {}, "Sentiment"),
    el("dd", {}, el("span", { class: `badge sentiment-${reply.sentiment}` }, reply.sentiment), ` ${percent(reply.confidences.sentiment)} confident`),
    el("dt", {}, "Intent"),
    el("dd", {}, el("span", { class: "badge" }, reply.intent), ` ${percent(reply.confidences.intent)} confident`),
  ];
  // Shown when the API sends the ranked candidates; the first one is `intent`.
  const candidates = reply.intent_candidates ?? [];
  if (candidates.length > 1) {
    rows.push(
      el("dt", {}, "Other candidates"),
      el("dd", {}, el("ol", { class: "candidates" }, candidates.slice(1).map((c) => el("li", {}, `${c.intent} ${percent(c.confidence)}`)))),
    );
  }
  rows.push(el("dt", {}, "Message id"), el("dd", {}, el("code", {}, reply.message_id)));
  return rows;
}

function suggestion(article, reply, request) {
  const status = el("p", { class: "feedback-status", role: "status" });
  const vote = (helpful) => async (event) => {
    const buttons = [...event.currentTarget.parentElement.querySelectorAll("button")];
    if (buttons.some(unavailable)) return; // one vote per suggestion
    buttons.forEach((b) => setUnavailable(b, true));
    try {
      await call("POST", "/v1/feedback", {
        message_id: reply.message_id,
        customer_id: request.customer_id,
        article_id: article.article_id,
        helpful,
      });
      status.textContent = helpful ? "Recorded: helpful." : "Recorded: not helpful.";
    } catch (error) {
      status.textContent = `Not recorded: ${error.message}`;
      buttons.forEach((b) => setUnavailable(b, false));
    }
  };
  const title = article.title;
  return el(
    "li",
    { class: "suggestion" },
    el("h3", {}, title),
    el("p", {}, article.body),
    el("p", { class: "meta" }, `score ${article.score.toFixed(2)}`, article.reasons.length ? ` · ${article.reasons.join(", ")}` : ""),
    el(
      "div",
      { class: "actions" },
      el("button", { type: "button", onclick: vote(true), "aria-label": `Helpful: ${title}` }, "Helpful"),
      el("button", { type: "button", onclick: vote(false), "aria-label": `Not helpful: ${title}` }, "Not helpful"),
    ),
    status,
  );
}

function showHistory(conversationId) {
  const turns = history.get(conversationId) ?? [];
  const list = document.getElementById("history");
  list.replaceChildren(
    ...turns
      .slice()
      .reverse()
      .map((turn) =>
        el(
          "li",
          {},
          el("p", { class: "said" }, turn.text),
          el("p", { class: "meta" }, `${clockTime(turn.at)} · ${turn.reply.sentiment} · ${turn.reply.intent}`),
        ),
      ),
  );
  document.getElementById("history-empty").hidden = turns.length > 0;
}

withKey(start);
