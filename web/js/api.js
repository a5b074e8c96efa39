// fetch() for the farmlive API: JSON in and out, errors as ApiError with the contract's code.

const TOKEN_KEY = "farmlive.token";

export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.fields = extra.fields || [];
    this.retryable = Boolean(extra.retryable) || status === 503 || status === 0;
  }
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage blocked: the token lives only as long as the page.
  }
}

export async function request(path, { method = "GET", body, headers = {}, auth = false, form } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (form) {
    init.body = new URLSearchParams(form);
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (auth) {
    const token = getToken();
    if (token) init.headers.Authorization = `Bearer ${token}`;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "network", String(err && err.message));
  }
  return response;
}

/** Call the API and return its JSON; throw ApiError on any non-2xx answer. */
export async function api(path, options = {}) {
  const response = await request(path, options);
  const text = await response.text().catch(() => "");
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const err = (data && data.error) || {};
    if (response.status === 401 && options.auth) setToken(null);
    throw new ApiError(response.status, err.code || `http_${response.status}`, err.message, err);
  }
  return data;
}

/** Sign in with the OAuth2 password flow; the token is kept for this tab only. */
export async function login(username, password) {
  const data = await api("/api/auth/token", { method: "POST", form: { username, password } });
  setToken(data.access_token);
  return api("/api/auth/me", { auth: true });
}

/** A random UUID, also on plain-http LAN addresses where crypto.randomUUID is missing. */
export function uuid() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function" && isSecureContext) {
    return crypto.randomUUID();
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

let configPromise = null;

/** What this server has (live WebSocket, WHIP/WHEP, Stripe) and where media lives. */
export function clientConfig() {
  configPromise ??= api("/api/client-config").catch(() => ({
    media_url: "",
    ice_servers: [],
    features: {},
    routes: [],
  }));
  return configPromise;
}

/** The id in /live/12, /studio/12, /minh-bach/12 (or null). */
export function pathId() {
  const last = location.pathname.split("/").filter(Boolean).pop();
  return last && /^\d+$/.test(last) ? Number(last) : null;
}

export function storeGet(key, fallback = null) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

export function storeSet(key, value) {
  try {
    if (value === null || value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or blocked: nothing to keep, the page still works.
  }
}
