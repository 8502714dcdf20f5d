// The one place the UI talks HTTP. Components never call fetch: they call
// the typed clients in this folder (prometheus.ts, jaeger.ts, loki.ts,
// alertmanager.ts, vigil.ts), which call these.

/** APIError carries the server's own message, shown where the request was made. */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorType = '',
    /** retryAfter: seconds, from the Retry-After header of a 429/503. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'APIError';
  }
}

export type Params = Record<string, string | number | boolean | undefined | null | (string | number)[]>;

/**
 * prefix is the external URL's path ("/obs" behind a proxy at /obs/), which
 * the server writes into the shell; every API path is under it.
 */
export const prefix: string =
  (typeof document !== 'undefined' && document.querySelector<HTMLMetaElement>('meta[name="vigil-prefix"]')?.content) || '';

/** url builds a same-origin URL with its query string; arrays repeat the key. */
export function url(path: string, params?: Params): string {
  path = prefix + path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) q.append(k, String(x));
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** csrf: the header auth asks for on every change (set by the session module). */
let csrf: { header: string; token: string } | null = null;
export function setCSRF(header: string, token: string) {
  csrf = { header, token };
}

/**
 * csrfToken: the session's CSRF token, sent as X-CSRF-Token on every change
 * (docs/security.md): the vigil_csrf cookie, readable by this script.
 */
function csrfToken(): { header: string; token: string } | null {
  if (csrf) return csrf;
  if (typeof document === 'undefined') return null;
  const m = /(?:^|;\s*)vigil_csrf=([^;]+)/.exec(document.cookie);
  return m ? { header: 'X-CSRF-Token', token: decodeURIComponent(m[1]) } : null;
}

/** onUnauthorized is called on a 401 (the app shows the sign-in page). */
let unauthorized: (() => void) | null = null;
export function onUnauthorized(f: () => void) {
  unauthorized = f;
}

async function errorOf(res: Response): Promise<APIError> {
  const text = await res.text().catch(() => '');
  let msg = text.trim();
  let type = '';
  try {
    const j = JSON.parse(text);
    // Prometheus, Loki and Vigil: {status:"error", error, errorType}; Jaeger: {errors:[{msg}]};
    // Alertmanager: a JSON string or {message}.
    if (typeof j === 'string') msg = j;
    else if (j?.error) msg = typeof j.error === 'string' ? j.error : JSON.stringify(j.error);
    else if (j?.errors?.[0]?.msg) msg = j.errors[0].msg;
    else if (j?.message) msg = j.message;
    type = j?.errorType ?? '';
  } catch {
    /* plain text */
  }
  if (!msg) msg = `${res.status} ${res.statusText}`;
  const ra = res.headers.get('Retry-After');
  if (res.status === 401 && unauthorized) unauthorized();
  return new APIError(msg, res.status, type, ra ? Number(ra) : undefined);
}

/**
 * Early requests (boot.ts): the data request of the page being opened is
 * sent while the page's code is still loading, and the page's own request,
 * when it is the same (method, URL and body), takes that answer instead of
 * asking again. Each is used once, and only within earlyTTL of being sent;
 * one nobody asked for is dropped then.
 */
const early = new Map<string, { at: number; res: Promise<Response> }>();
const earlyTTL = 10_000;
let recording = false;

/** earlyMark: the rejection of a client call made to record its request. */
const earlyMark = new Error('early request recorded');

/**
 * startEarly calls API client functions (prom.queryRange, jaeger.trace...)
 * only to send their requests: each request is kept for the page's own
 * identical call. The clients reach request() synchronously, so the flag
 * is set exactly while they build it; a client that did not is a miss,
 * never a wrong answer (the page then asks itself).
 */
export function startEarly(calls: (() => Promise<unknown>)[]) {
  for (const call of calls) {
    recording = true;
    try {
      call().catch(() => {});
    } catch {
      /* a bad parameter: the page will say so */
    } finally {
      recording = false;
    }
  }
}

/** earlyPending: the early requests not yet taken (tests, the benchmark). */
export function earlyPending(): number {
  return early.size;
}

async function request(method: string, path: string, params: Params | undefined, body: unknown, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let payload: BodyInit | undefined;
  if (body instanceof URLSearchParams) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const t = csrfToken();
    if (t) headers[t.header] = t.token;
  }
  const u = url(path, params);
  const key = `${method} ${u}\n${payload === undefined ? '' : String(payload)}`;
  if (recording) {
    if (method !== 'GET' && !(body instanceof URLSearchParams)) throw earlyMark; // only reads
    const res = fetch(u, { method, headers, body: payload, credentials: 'same-origin' });
    res.catch(() => {});
    early.set(key, { at: Date.now(), res });
    setTimeout(() => early.get(key)?.res === res && early.delete(key), earlyTTL);
    throw earlyMark;
  }
  const e = early.get(key);
  if (e) early.delete(key);
  let res: Response;
  try {
    res = e && Date.now() - e.at < earlyTTL ? await e.res : await fetch(u, { method, headers, body: payload, signal, credentials: 'same-origin' });
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new APIError(`cannot reach Vigil (${(e as Error).message}): is it running?`, 0);
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

export async function getText(path: string, params?: Params, signal?: AbortSignal): Promise<string> {
  const res = await request('GET', path, params, undefined, signal);
  return res.text();
}

export async function getJSON<T>(path: string, params?: Params, signal?: AbortSignal): Promise<T> {
  const res = await request('GET', path, params, undefined, signal);
  return (await res.json()) as T;
}

/** postForm sends a form body (PromQL queries can be longer than a URL). */
export async function postForm<T>(path: string, form: Params, signal?: AbortSignal): Promise<T> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) body.append(k, String(x));
    else body.set(k, String(v));
  }
  const res = await request('POST', path, undefined, body, signal);
  return (await res.json()) as T;
}

export async function sendJSON<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T | null> {
  const res = await request(method, path, undefined, body, signal);
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? (JSON.parse(text) as T) : null;
}

/** wsURL turns a same-origin path into a ws:// or wss:// URL. */
export function wsURL(path: string, params?: Params): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${url(path, params)}`;
}

/** envelope unwraps {status:"success", data} (Prometheus, Loki, Vigil). */
export function data<T>(r: { status?: string; data: T }): T {
  return r.data;
}

/**
 * apiFetch is fetch with the session's CSRF header, for libraries that
 * take a fetch function (the PromQL editor's completion client).
 */
export const apiFetch: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  const t = csrfToken();
  if (t && init?.method && init.method !== 'GET') headers.set(t.header, t.token);
  return fetch(input, { ...init, headers, credentials: 'same-origin' });
};
