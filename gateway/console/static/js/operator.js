// The operator's view: alerts listed and followed live, filtered; the selected alert's
// evidence charted, its examples linked to their traces, and acknowledged with a note.

import { AlertStream } from "./alert-stream.js";
import { ApiError, call, linksConfig } from "./api.js";
import { announce, dateTime, el, setUnavailable, unavailable } from "./dom.js";
import { evidenceChart, measureOf } from "./evidence-chart.js";
import { refuseView, withKey } from "./session.js";

const alerts = new Map(); // alert id -> the newest version seen
let selectedId = null;
let links = { trace_url: null, grafana_url: null };
const charted = { key: null }; // alert id + updated_at the chart was drawn for
const CHART_REFRESH_MS = 10000;

async function start() {
  links = await linksConfig();
  let page;
  try {
    page = await call("GET", "/v1/alerts?limit=100");
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      refuseView(error, "an operator");
      return;
    }
    announce(`Alerts not loaded: ${error.message}`);
    return;
  }
  page.alerts.forEach(keepNewest);
  for (const id of ["state-filter", "topic-filter", "kind-filter"]) {
    document.getElementById(id).addEventListener("change", renderList);
  }
  renderFilters();
  renderList();
  // Evidence grows between lifecycle events, which are all the stream sends: while an open
  // alert is selected, its chart is redrawn now and then.
  setInterval(() => {
    const alert = alerts.get(selectedId);
    if (alert && alert.state !== "resolved" && !document.hidden) drawChart(alert);
  }, CHART_REFRESH_MS);
  const stream = new AlertStream(onEvent, showStreamState);
  window.addEventListener("pagehide", () => stream.stop());
  stream.follow();
}

function onEvent({ alert }) {
  const isNew = !alerts.has(alert.alert_id);
  if (!keepNewest(alert)) return;
  renderFilters();
  renderList();
  if (alert.alert_id === selectedId) renderDetail();
  if (isNew && alert.state === "firing") announce(`New alert: ${alert.topic} on ${alert.channel}.`);
}

// The list and the stream's replay overlap: keep whichever version of an alert is newer.
function keepNewest(alert) {
  const known = alerts.get(alert.alert_id);
  if (known && Date.parse(known.updated_at) > Date.parse(alert.updated_at)) return false;
  alerts.set(alert.alert_id, alert);
  return true;
}

function showStreamState(state, error) {
  const badge = document.getElementById("stream-state");
  badge.dataset.state = state;
  badge.textContent = { live: "Live", reconnecting: "Reconnecting…", stopped: `Stopped: ${error?.message ?? ""}` }[state];
}

function renderFilters() {
  fillOptions(document.getElementById("topic-filter"), [...alerts.values()].map((a) => a.topic));
  // Alerts carry a `kind` once the API reports one; until then there is nothing to choose.
  const kinds = [...alerts.values()].map((a) => a.kind).filter(Boolean);
  const kindFilter = document.getElementById("kind-filter");
  fillOptions(kindFilter, kinds);
  kindFilter.disabled = kinds.length === 0;
}

function fillOptions(select, values) {
  const wanted = [...new Set(values)].sort();
  const present = [...select.options].slice(1).map((o) => o.value);
  if (wanted.join("\n") === present.join("\n")) return;
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "any"), ...wanted.map((v) => el("option", { value: v }, v)));
  select.value = wanted.includes(chosen) ? chosen : "";
}

function visibleAlerts() {
  const state = document.getElementById("state-filter").value;
  const topic = document.getElementById("topic-filter").value;
  const kind = document.getElementById("kind-filter").value;
  return [...alerts.values()]
    .filter((a) => (!state || a.state === state) && (!topic || a.topic === topic) && (!kind || a.kind === kind))
    .sort((a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at));
}

function renderList() {
  const shown = visibleAlerts();
  const list = document.getElementById("alerts");
  // The stream redraws the list at any moment: an operator tabbing through it keeps their place.
  const focusedId = list.contains(document.activeElement) ? document.activeElement.dataset.alertId : null;
  list.replaceChildren(
    ...shown.map((alert) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: "alert-item",
            "aria-current": alert.alert_id === selectedId ? "true" : null,
            "data-alert-id": alert.alert_id,
            onclick: () => select(alert.alert_id),
          },
          el("span", { class: "topic" }, alert.topic),
          el("span", { class: `badge state-${alert.state}` }, alert.state),
          el("span", { class: "meta" }, [alert.channel, alert.kind, alert.severity, `opened ${dateTime(alert.opened_at)}`].filter(Boolean).join(" · ")),
        ),
      ),
    ),
  );
  if (focusedId) list.querySelector(`[data-alert-id="${CSS.escape(focusedId)}"]`)?.focus();
  document.getElementById("alerts-empty").hidden = shown.length > 0;
  document.getElementById("alert-count").textContent = `${shown.length} of ${alerts.size}`;
}

function select(alertId) {
  selectedId = alertId;
  charted.key = null; // selecting again redraws the chart with the buckets closed since
  renderList();
  renderDetail();
  document.getElementById("detail-title").focus();
}

function renderDetail() {
  const alert = alerts.get(selectedId);
  const detail = document.getElementById("detail");
  detail.hidden = !alert;
  if (!alert) return;
  const evidence = alert.evidence;
  document.getElementById("detail-title").textContent = `${alert.topic} on ${alert.channel}`;
  document.getElementById("facts").replaceChildren(
    ...fact("State", el("span", { class: `badge state-${alert.state}` }, alert.state)),
    ...fact("Severity", alert.severity),
    ...(alert.kind ? fact("Kind", alert.kind) : []),
    ...fact("Opened", dateTime(alert.opened_at)),
    ...fact("Window", `${dateTime(evidence.window_start)} – ${dateTime(evidence.window_end)}`),
    ...countFacts(alert.kind, evidence),
    ...fact("Score", evidence.score.toFixed(3)),
    ...(alert.acknowledgement
      ? fact("Acknowledged", `by ${alert.acknowledgement.operator}, ${dateTime(alert.acknowledgement.at)}: ${alert.acknowledgement.note || "(no note)"}`)
      : []),
  );
  document.getElementById("links").replaceChildren(...outLinks(alert));
  document.getElementById("ack-form").hidden = alert.state !== "firing";
  const key = `${alert.alert_id}@${alert.updated_at}`;
  if (charted.key !== key) {
    charted.key = key;
    drawChart(alert);
  }
}

function fact(name, value) {
  return [el("dt", {}, name), el("dd", {}, value)];
}

// What the alert's kind judged comes first: negatives for a share spike, all messages for a
// volume surge (whose evidence also says how many negatives came with it).
function countFacts(kind, evidence) {
  const perBucket = (rate) => `${rate.toFixed(2)} expected per bucket`;
  if (kind === "volume") {
    return [
      ...fact("Messages", `${evidence.total_count} (${perBucket(evidence.baseline_message_rate)})`),
      ...fact("Negatives", `${evidence.negative_count} (${perBucket(evidence.baseline_negative_rate)})`),
    ];
  }
  return [
    ...fact("Negatives", `${evidence.negative_count} of ${evidence.total_count} messages`),
    ...fact("Negatives expected per bucket", evidence.baseline_negative_rate.toFixed(2)),
  ];
}

function outLinks(alert) {
  const items = [];
  // Messages sent in one request share its trace: one link per trace.
  const messagesByTrace = new Map();
  for (const { trace_id, message_id } of alert.evidence.example_traces) {
    messagesByTrace.set(trace_id, [...(messagesByTrace.get(trace_id) ?? []), message_id]);
  }
  for (const [traceId, messageIds] of messagesByTrace) {
    const text = `Trace ${traceId.slice(0, 12)}…`;
    const href = links.trace_url?.replace("{trace_id}", encodeURIComponent(traceId));
    items.push(
      el(
        "li",
        {},
        href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, text) : `${text} (id ${traceId})`,
        el("span", { class: "meta" }, ` sent ${messageIds.length === 1 ? "example message" : `${messageIds.length} example messages`}: ${messageIds.join(", ")}`),
      ),
    );
  }
  if (!alert.evidence.example_traces.length) {
    for (const id of alert.evidence.example_message_ids) items.push(el("li", {}, `Message ${id} (no trace recorded)`));
  }
  if (links.grafana_url) {
    const margin = 10 * 60 * 1000;
    const from = Date.parse(alert.evidence.window_start) - margin;
    const to = Date.parse(alert.evidence.window_end) + margin;
    const href = `${links.grafana_url.replace(/\/$/, "")}/d/carepulse-sentiment?from=${from}&to=${to}`;
    items.push(el("li", {}, el("a", { href, target: "_blank", rel: "noopener noreferrer" }, "Sentiment dashboard around the alert (Grafana)")));
  }
  return items;
}

async function drawChart(alert) {
  const figure = document.getElementById("chart");
  if (!figure.querySelector("svg")) figure.replaceChildren(el("p", {}, "Loading the series…"));
  try {
    const series = await call("GET", `/v1/alerts/${encodeURIComponent(alert.alert_id)}/series`);
    if (selectedId !== alert.alert_id) return;
    const measure = measureOf(alert.kind);
    figure.replaceChildren(
      evidenceChart(series, alert.kind),
      el(
        "figcaption",
        {},
        el("span", { class: "key observed-key", "aria-hidden": "true" }), `${measure.noun} per bucket `,
        el("span", { class: "key expected-key", "aria-hidden": "true" }), "expected ",
        el("span", { class: "key band-key", "aria-hidden": "true" }), `normal band (up to the count that ${measure.verb.replace(/ed$/, "es")}) `,
        el("span", { class: "key fired-key", "aria-hidden": "true" }, "▲"), `${measure.verb} bucket`,
      ),
    );
  } catch (error) {
    figure.replaceChildren(el("p", {}, `Series not loaded: ${error.message}`));
  }
}

async function acknowledge(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  if (unavailable(button)) return;
  setUnavailable(button, true);
  try {
    const alert = await call("POST", `/v1/alerts/${encodeURIComponent(selectedId)}/ack`, { note: form.elements.note.value });
    keepNewest(alert);
    form.reset();
    renderList();
    renderDetail();
    // The form is gone with the state it belonged to: focus goes to the alert it changed.
    document.getElementById("detail-title").focus();
    announce(`Acknowledged: ${alert.topic} on ${alert.channel}.`);
  } catch (error) {
    announce(`Not acknowledged: ${error.message}`);
  } finally {
    setUnavailable(button, false);
  }
}

document.getElementById("ack-form").addEventListener("submit", acknowledge);
withKey(start);
