// The console's one way to the API: config.json's base URL, the signed-in person's token, the API's own errors.

let config = null;
let tokenFor = async () => null;
let onSignedOut = () => {};

export class ApiError extends Error {
  /** `body` is the API's ErrorBody: {error, message, fields: [{field, problem}]}. */
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** config.json beside index.html: written by `make run` locally and by the stack in AWS. */
export async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store", credentials: "same-origin" });
  if (!response.ok) throw new ApiError(response.status, { error: "no_config", message: `config.json could not be read (HTTP ${response.status})` });
  const loaded = await response.json();
  if (!["local", "cognito"].includes(loaded.auth)) {
    throw new ApiError(0, { error: "bad_config", message: `config.json: auth must be "local" or "cognito" (got ${JSON.stringify(loaded.auth)})` });
  }
  // `api`: the local runtime's name for the API's base URL; the stack writes it as `api_url` (the CLI reads that too).
  const base = "api" in loaded ? loaded.api : loaded.api_url;
  config = { ...loaded, api: String(base || "").replace(/\/+$/, "") };
  return config;
}

export const currentConfig = () => config;

/** `provider()` answers the token to send (or null); `signedOut(error)` runs when the API says it is no longer valid. */
export function useToken(provider, signedOut) {
  tokenFor = provider;
  onSignedOut = signedOut;
}

/**
 * Calls the API. Answers the parsed body (or {body, etag} with `withEtag`); throws ApiError with the API's
 * ErrorBody. The token goes as `Authorization: Bearer`; cookies are never sent (credentials: "omit"), so each
 * tab acts as the person signed in there, whatever another tab did.
 */
export async function api(method, path, { body, rawBody, headers = {}, withEtag = false, text = false, anonymous = false } = {}) {
  const sent = { Accept: text ? "text/plain, text/calendar" : "application/json", ...headers };
  const token = anonymous ? null : await tokenFor();
  if (token) sent.Authorization = `Bearer ${token}`;
  // rawBody: JSON text as a person typed it, sent unparsed so that the API's own refusal words any mistake.
  const payloadText = rawBody !== undefined ? rawBody : body === undefined ? undefined : JSON.stringify(body);
  if (payloadText !== undefined) sent["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(config.api + path, {
      method, headers: sent, credentials: "omit", cache: "no-store",
      body: payloadText,
    });
  } catch (error) {
    throw new ApiError(0, { error: "unreachable", message: `The API could not be reached (${error.message}). Check your connection and try again.` });
  }
  const type = response.headers.get("Content-Type") || "";
  let payload = null;
  if (response.status !== 204) payload = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const errorBody = payload && typeof payload === "object"
      ? payload
      : { error: `http_${response.status}`, message: `${response.status} ${response.statusText}${payload ? `: ${String(payload).slice(0, 300)}` : ""}` };
    const error = new ApiError(response.status, errorBody);
    if (response.status === 401 && !anonymous) onSignedOut(error);
    throw error;
  }
  return withEtag ? { body: payload, etag: response.headers.get("ETag") } : payload;
}

export const get = (path, options) => api("GET", path, options);
export const post = (path, body, options) => api("POST", path, { ...options, body: body ?? {} });

export const enc = encodeURIComponent;
