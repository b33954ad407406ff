// Calls to the Sign2Text API. Errors become ApiError with the server's stable code and
// message (the API answers {"error": {"code", "message"}} on every 4xx/5xx). No DOM.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function check(response) {
  if (response.ok) return response;
  let code = `http_${response.status}`;
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // not JSON (a proxy's error page): keep the status line
  }
  throw new ApiError(response.status, code, message, response.headers.get("Retry-After"));
}

async function request(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, "network_error", `could not reach the server (${err.message})`);
  }
  return check(response);
}

export async function getJSON(url) {
  return (await request(url, { headers: { Accept: "application/json" } })).json();
}

export async function getBytes(url) {
  return (await request(url)).arrayBuffer();
}

export async function getBlob(url) {
  return (await request(url)).blob();
}

/** POST /v1/recognize with the clip as the multipart field `file`. */
export async function recognizeClip(file, topK = 5, signal = undefined) {
  const body = new FormData();
  body.append("file", file, file.name || "clip.mp4");
  const url = `/v1/recognize?top_k=${encodeURIComponent(topK)}`;
  return (await request(url, { method: "POST", body, signal, headers: { Accept: "application/json" } })).json();
}

/** A message for people from any error (ApiError or other). */
export function describeError(err) {
  if (err instanceof ApiError) {
    const retry = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : "";
    return `${err.message}${retry} (${err.code})`;
  }
  return String(err && err.message ? err.message : err);
}
