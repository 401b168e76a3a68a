// Follows GET /v1/alerts/stream. EventSource cannot send the API key in a header, and the key
// must never go into a URL, so this reads the stream with fetch and parses the Server-Sent
// Events itself; after a drop it reconnects with Last-Event-ID, as EventSource would, so no
// event is lost or repeated.

import { apiError, authHeaders } from "./api.js";

const MAX_BACKOFF_MS = 15000;

export class AlertStream {
  // onEvent({id, alert}) for each event; onState("live" | "reconnecting" | "stopped", error?).
  constructor(onEvent, onState) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastEventId = null;
    this.controller = null;
    this.stopped = false;
  }

  async follow() {
    let backoff = 1000;
    while (!this.stopped) {
      let retryAfterMs = null;
      try {
        await this.readOnce(() => {
          backoff = 1000; // attached: the next drop starts the backoff afresh
        });
      } catch (error) {
        if (this.stopped) return;
        if (error.status === 401 || error.status === 403) {
          this.stopped = true;
          this.onState("stopped", error);
          return;
        }
        retryAfterMs = error.retryAfterMs ?? null;
      }
      if (this.stopped) return;
      this.onState("reconnecting");
      await sleep(retryAfterMs ?? backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
  }

  // Drops the connection as a network would; follow() resumes after the last event.
  interrupt() {
    this.controller?.abort();
  }

  async readOnce(onAttached) {
    this.controller = new AbortController();
    const headers = authHeaders({ Accept: "text/event-stream" });
    if (this.lastEventId !== null) headers["Last-Event-ID"] = this.lastEventId;
    const response = await fetch("/v1/alerts/stream", { headers, signal: this.controller.signal, cache: "no-store" });
    if (!response.ok) {
      const error = await apiError(response);
      const retryAfter = Number(response.headers.get("Retry-After"));
      if (retryAfter > 0) error.retryAfterMs = retryAfter * 1000;
      throw error;
    }
    onAttached();
    this.onState("live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = { id: null, data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === "") {
          if (event.data.length) this.dispatch(event);
          event = { id: null, data: [] };
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "id") event.id = value;
          else if (field === "data") event.data.push(value);
        }
      }
    }
  }

  dispatch(event) {
    if (event.id !== null) this.lastEventId = event.id;
    this.onEvent({ id: event.id, ...JSON.parse(event.data.join("\n")) });
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
