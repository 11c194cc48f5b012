/** Stable error codes: callers match on these, never on message text. */
export type ErrorCode =
  | 'CONFIG'
  | 'USAGE'
  | 'UNREACHABLE'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'LOCKED'
  | 'RATE_LIMITED'
  | 'SERVER_ERROR'
  | 'HTTP_STATUS'
  | 'BAD_RESPONSE'
  | 'TOO_LARGE'
  | 'UNSUPPORTED'
  | 'JOURNAL'
  | 'INTERNAL';

/** The base of every error the agent raises on purpose. */
export class AgentError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad settings or environment; `problems` lists every bad key at once. */
export class ConfigError extends AgentError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('CONFIG', problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems:\n- ${problems.join('\n- ')}`);
    this.problems = problems;
  }
}

/** Wrong command-line usage. */
export class UsageError extends AgentError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** Which peer an HTTP error came from, for messages and health reasons. */
export type Peer = 'supervisor' | 'cloud' | 'sink' | 'agent' | 'check';

const statusCodes: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'TOO_LARGE',
  423: 'LOCKED',
  429: 'RATE_LIMITED',
};

/** The error code an HTTP status maps to. */
export function codeForStatus(status: number): ErrorCode {
  return statusCodes[status] ?? (status >= 500 ? 'SERVER_ERROR' : 'HTTP_STATUS');
}

/** A peer answered with a non-success status; keeps status, headers and (truncated) body. */
export class HttpError extends AgentError {
  readonly peer: Peer;
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  /** From Retry-After (seconds or HTTP-date), when the peer sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(args: {
    peer: Peer;
    status: number;
    method: string;
    path: string;
    body: string;
    headers?: Readonly<Record<string, string>>;
    retryAfterMs?: number | undefined;
    message?: string;
  }) {
    const detail = summariseBody(args.body);
    super(
      codeForStatus(args.status),
      args.message ??
        `${args.peer} answered ${args.status} to ${args.method} ${args.path}${detail ? `: ${detail}` : ''}`,
    );
    this.peer = args.peer;
    this.status = args.status;
    this.method = args.method;
    this.path = args.path;
    this.body = args.body.slice(0, 4096);
    this.headers = args.headers ?? {};
    this.retryAfterMs = args.retryAfterMs;
  }
}

/** 423 from the supervisor: an update lock is held; `lockMessage` is the supervisor's own words. */
export class UpdatesLockedError extends HttpError {
  readonly lockMessage: string;

  constructor(args: ConstructorParameters<typeof HttpError>[0] & { lockMessage: string }) {
    super({ ...args, message: `update lock held: ${args.lockMessage || 'the supervisor refused with 423'}` });
    this.lockMessage = args.lockMessage;
  }
}

/** The peer could not be reached (refused, reset, DNS) or did not answer in time. */
export class UnreachableError extends AgentError {
  declare readonly code: 'UNREACHABLE' | 'TIMEOUT' | 'ABORTED';
  readonly peer: Peer;
  /**
   * Whether the request may have reached the peer: false only when the connection was never
   * made (refused, no route, name not found, connect timeout). Destructive calls use it to
   * decide whether a retry could repeat an effect.
   */
  readonly mayHaveArrived: boolean;

  constructor(
    peer: Peer,
    code: 'UNREACHABLE' | 'TIMEOUT' | 'ABORTED',
    message: string,
    options?: { cause?: unknown; mayHaveArrived?: boolean },
  ) {
    super(code, message, options);
    this.peer = peer;
    this.mayHaveArrived = options?.mayHaveArrived ?? true;
  }
}

/** The peer answered 2xx but the body was garbage, truncated or too large. */
export class BadResponseError extends AgentError {
  readonly peer: Peer;

  constructor(peer: Peer, code: 'BAD_RESPONSE' | 'TOO_LARGE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.peer = peer;
  }
}

/** The operation needs a newer supervisor (or API) than the device runs. */
export class UnsupportedError extends AgentError {
  constructor(message: string) {
    super('UNSUPPORTED', message);
  }
}

/** The persisted journal could not be read or written. */
export class JournalError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('JOURNAL', message, options);
  }
}

/** True for errors worth retrying later: network trouble, 429, 5xx. */
export function isTransient(err: unknown): boolean {
  if (err instanceof UnreachableError) return err.code !== 'ABORTED';
  if (err instanceof HttpError) return err.status === 429 || err.status === 408 || err.status >= 500;
  return false;
}

/** Any thrown value as a one-line message (never includes a stack). */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}

/** The first meaningful text of an error body: JSON `message`/`Error`/`error` or the raw text, short. */
export function summariseBody(body: string): string {
  const text = body.trim();
  if (!text) return '';
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') {
      const record = parsed as Record<string, unknown>;
      for (const key of ['message', 'Error', 'error']) {
        const value = record[key];
        if (typeof value === 'string' && value) return value.slice(0, 300);
      }
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.replace(/\s+/g, ' ').slice(0, 300);
}
