// The public API, called with the key the user typed in. The key stays in this tab's
// sessionStorage (gone when the tab closes): never in a URL, a cookie or a log line.

const KEY_ITEM = "carepulse.apiKey";

export function storedKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_ITEM, key.trim());
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_ITEM);
}

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

export function authHeaders(extra = {}) {
  return { "X-API-Key": storedKey() ?? "", ...extra };
}

export async function call(method, path, body) {
  const headers = authHeaders(body === undefined ? {} : { "Content-Type": "application/json" });
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  if (!response.ok) throw await apiError(response);
  return response.json();
}

// Errors are application/problem+json: the title and detail say what went wrong.
export async function apiError(response) {
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    // not a problem document (a proxy's page, say): the status line is all there is
  }
  return new ApiError(response.status, problem.title ?? response.statusText, problem.detail ?? "");
}

export async function linksConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  return response.ok ? response.json() : { trace_url: null, grafana_url: null };
}
