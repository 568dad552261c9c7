// The few error classes the protocol knows. Each carries the stable `code` a client sees in
// `{ok:false, error:{code, message}}`; anything else that escapes a handler is reported as
// `internal` without its message (it may hold details a client should not see).

export type ErrorCode =
  | 'bad_request'
  | 'unknown_method'
  | 'invalid_state'
  | 'not_found'
  | 'rate_limited'
  | 'unauthorized'
  | 'room_full'
  | 'draining'
  | 'internal';

export class OctomeshError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The message could not be parsed or does not match its schema. */
export class BadRequestError extends OctomeshError {
  constructor(message: string) { super('bad_request', message); }
}

/** The method is not part of the protocol. */
export class UnknownMethodError extends OctomeshError {
  constructor(method: string) { super('unknown_method', `unknown method "${method.slice(0, 64)}"`); }
}

/** The request is valid but not now (produce before join, join twice, a closed room). */
export class InvalidStateError extends OctomeshError {
  constructor(message: string) { super('invalid_state', message); }
}

/** A transport, producer or consumer id that this peer does not own. */
export class NotFoundError extends OctomeshError {
  constructor(message: string) { super('not_found', message); }
}

export class RateLimitedError extends OctomeshError {
  constructor(message = 'too many messages, slow down') { super('rate_limited', message); }
}

/** No valid token for this room (missing, expired, badly signed, another room's). */
export class UnauthorizedError extends OctomeshError {
  constructor(message = 'a valid token for this room is needed') { super('unauthorized', message); }
}

export class RoomFullError extends OctomeshError {
  constructor(max: number) { super('room_full', `room is full (${max} peers)`); }
}

export class DrainingError extends OctomeshError {
  constructor() { super('draining', 'this node is draining and takes no new joins'); }
}

/** A configuration problem found at start; the CLI prints it on one line and exits with 2. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`config: ${key}: ${message}`);
    this.key = key;
    this.name = 'ConfigError';
  }
}

export function toWireError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof OctomeshError) return { code: err.code, message: err.message };
  if (err instanceof TypeError) return { code: 'bad_request', message: err.message };
  return { code: 'internal', message: 'internal error' };
}
