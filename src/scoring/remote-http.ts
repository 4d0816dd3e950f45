/**
 * The HTTP side of scoring through a running `kiln serve`: one exchange with retries on what a retry can
 * fix, and errors that name the server, the status and the input lines a refusal is about.
 */

/** The server cannot be reached, refuses a request, or answers something unexpected. */
export class RemoteScoringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteScoringError';
  }
}

/** `http://host:port[/prefix]` without a trailing slash; anything else is refused. */
export function normalizeServerUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new RemoteScoringError(`--server ${server} is not a URL (e.g. http://127.0.0.1:4002)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RemoteScoringError(`--server ${server}: expected an http:// or https:// URL`);
  if (url.username || url.password)
    throw new RemoteScoringError('--server must not carry credentials: set KILN_API_KEY instead');
  if (url.search || url.hash)
    throw new RemoteScoringError(`--server ${server}: no query or fragment expected`);
  return url.href.replace(/\/+$/, '');
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * One HTTP exchange with retries on what a retry can fix: connection failures, 429 (after its
 * Retry-After, at most 10 s) and 502/503/504, with backoff. Network failures become a message that
 * names the server and what to check.
 */
export async function request(
  url: string,
  options: {
    method: 'GET' | 'POST';
    body?: string;
    apiKey?: string;
    timeoutMs?: number;
    signal?: AbortSignal;
    retries?: number;
    onRetry?: (reason: string) => void;
  },
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const retries = options.retries ?? 0;
  for (let attempt = 0; ; attempt++) {
    let reason: string;
    let waitMs = 250 * 2 ** attempt;
    try {
      const signals = [AbortSignal.timeout(options.timeoutMs ?? 60_000)];
      if (options.signal) signals.push(options.signal);
      const response = await fetch(url, {
        method: options.method,
        headers,
        body: options.body,
        signal: AbortSignal.any(signals),
      });
      const body = await response.text();
      const retryable = response.status === 429 || (response.status >= 502 && response.status <= 504);
      if (!retryable || attempt >= retries) return { status: response.status, body };
      reason = `${response.status} ${errorText(body)}`;
      const after = Number(response.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) waitMs = Math.min(after * 1000, 10_000);
    } catch (error) {
      if (options.signal?.aborted) throw new RemoteScoringError('cancelled');
      reason = networkReason(error, options.timeoutMs ?? 60_000);
      if (attempt >= retries)
        throw new RemoteScoringError(
          `cannot reach the Kiln server at ${new URL(url).origin}: ${reason}; is \`kiln serve\` running there?`,
        );
    }
    options.onRetry?.(reason);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

function networkReason(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const code = err?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'unknown host';
  if (code) return `${code}${err.cause?.message ? ` (${err.cause.message})` : ''}`;
  return err?.cause?.message ?? err?.message ?? String(error);
}

export function parseJson(body: string, url: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new RemoteScoringError(`${url} did not answer JSON: ${body.slice(0, 200)}`);
  }
}

/** The `error` of a JSON error body, else the body's start. */
export function errorText(body: string): string {
  try {
    const json = JSON.parse(body) as { error?: unknown };
    if (typeof json?.error === 'string') return json.error;
  } catch {
    // not JSON: shown as it is
  }
  const text = body.trim();
  return text.length > 300 ? `${text.slice(0, 300)}...` : text || '(empty body)';
}

/** The rows the server's field errors name (`/records/<i>/...`), as input line numbers. */
export function detailLines(body: string, lines: Int32Array): string {
  let details: { path?: unknown }[] = [];
  try {
    const json = JSON.parse(body) as { details?: unknown };
    if (Array.isArray(json?.details)) details = json.details as { path?: unknown }[];
  } catch {
    return '';
  }
  const named = new Set<number>();
  for (const { path } of details) {
    const m = typeof path === 'string' ? /^\/records\/(\d+)/.exec(path) : null;
    if (m && Number(m[1]) < lines.length) named.add(lines[Number(m[1])]);
  }
  if (named.size === 0) return '';
  const list = [...named].sort((a, b) => a - b);
  return ` [input line${list.length === 1 ? '' : 's'} ${list.slice(0, 10).join(', ')}${list.length > 10 ? ', ...' : ''}]`;
}
