import { requestSchemas, type Method } from '../../core/protocol.js';
import { audioRtpParameters, videoRtpParameters } from './SignalClient.js';

// Generates signaling frames for the fuzz test: valid requests built from what a socket has
// really got back (capabilities, transport/producer/consumer ids), then mutated at the JSON
// value level, the envelope level or the text level. Everything random comes from one seeded
// generator so that a failing run can be replayed with its seed.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** mulberry32: tiny, fast and good enough to pick mutations; not for anything secret. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

export const METHODS = Object.keys(requestSchemas) as Method[];

/** What one fuzz socket knows: real ids from its own responses, and some from other sockets. */
export interface FuzzContext {
  caps: Json;
  rooms: readonly string[];
  joined: boolean;
  sendTransports: string[];
  recvTransports: string[];
  plainTransports: string[];
  producers: string[];
  consumers: string[];
  /** Ids owned by other peers (other fuzz sockets, the bystanders): must stay out of reach. */
  foreign: string[];
  /** A UDP port of the test that swallows what a connected plain transport sends. */
  sinkPort: number;
  nextSsrc: number;
}

/** One frame to send, with the id the server can read back from it (JSON-encoded; null when it cannot). */
export interface Frame {
  payload: string | Buffer;
  binary: boolean;
  mutation: string;
  method: string;
  answerKey: string;
  /** The server is expected to close the socket on this frame (too big, invalid UTF-8). */
  closes: boolean;
}

// Keys that an object-walking server might trip on, and names close to the real ones.
const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'then', 'id', 'method', 'data', '', ' ', 'a\u0000b', '\u202e', 'transportId', 'room', 'kind', 'producerId', 'length', '0'];
const NASTY_METHODS = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'JOIN', 'join ', ' ping', 'Ping', 'produce\u0000', 'dropDatabase', 'x'.repeat(65), '', 'consume', 'getStats', 'dump', 'close'];
// Numbers are taken from a list: a random port would make a plain transport send RTP to
// whatever listens there on this machine; 1, 65535 and the sink are the only valid ports.
const NASTY_NUMBERS = [0, -1, 1, 1.5, -0.5, 15, 16, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER];
const NASTY_STRINGS = ['', ' ', 'null', 'undefined', 'NaN', '0', '-1', '{}', '[]', 'send', 'recv', 'audio', 'video', 'client', 'server', '127.0.0.1', '::1', '0.0.0.0', '255.255.255.255', '999.1.1.1', 'localhost', '../etc/passwd', 'a\u0000b', '\u0007\u001b[31m', '\ud800', '\udfff\ud800', '😀'.repeat(20), '\u202e\u200b\ufeff', 'Ω≈ç√∫', 'ﷺ'.repeat(10), '%s%n%x', '${process.exit()}', '<script>', 'x'.repeat(65), 'x'.repeat(129)];
const TEXT_JUNK = ['{', '}', '[', ']', '"', ',', ':', '\\', '\\u', '\\ud800', 'null', '1e400', '-', '\u0000', '\n', ' ', 'NaN', 'Infinity', '"__proto__":{}', '/*', '\ufeff'];

function defineKey(obj: JsonObject, key: string, value: Json): void {
  // Plain assignment of "__proto__" would set the prototype instead of adding a key.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function clone(value: Json): Json {
  if (Array.isArray(value)) return value.map(clone);
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const k of Object.keys(value)) defineKey(out, k, clone(value[k]!));
    return out;
  }
  return value;
}

function idFrom(rng: Rng, own: string[], ctx: FuzzContext): string {
  const r = rng.next();
  if (own.length && r < 0.8) return rng.pick(own);
  if (ctx.foreign.length && r < 0.9) return rng.pick(ctx.foreign);
  return rng.pick(['nope', '00000000-0000-0000-0000-000000000000', 'x'.repeat(64), '\u0000']);
}

/** A schema-valid `data` for `method`, with ids this socket owns where it has some. */
export function validData(method: Method, rng: Rng, ctx: FuzzContext): JsonObject {
  const anyTransport = (): string => idFrom(rng, [...ctx.sendTransports, ...ctx.recvTransports, ...ctx.plainTransports], ctx);
  switch (method) {
    case 'join':
      return { room: rng.pick(ctx.rooms), displayName: rng.pick(['Ann', 'Bob', ' Zoë ', '李']), rtpCapabilities: clone(ctx.caps) };
    case 'createWebRtcTransport':
      return rng.chance(0.3) ? { direction: rng.pick(['send', 'recv']), forceTcp: rng.chance(0.5) } : { direction: rng.pick(['send', 'recv']) };
    case 'connectWebRtcTransport':
      return {
        transportId: anyTransport(),
        dtlsParameters: { role: rng.pick(['client', 'server', 'auto']), fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, (_, i) => ((i * 37 + 11) & 0xff).toString(16).padStart(2, '0').toUpperCase()).join(':') }] },
      };
    case 'createPlainTransport':
      return rng.chance(0.2) ? { direction: rng.pick(['send', 'recv']), srtp: rng.pick(['AEAD_AES_256_GCM', 'AES_CM_128_HMAC_SHA1_80']) } : { direction: rng.pick(['send', 'recv']) };
    case 'connectPlainTransport': {
      const data: JsonObject = { transportId: idFrom(rng, ctx.plainTransports, ctx), ip: '127.0.0.1', port: ctx.sinkPort };
      if (rng.chance(0.2)) data.srtpParameters = { cryptoSuite: rng.pick(['AEAD_AES_256_GCM', 'AES_CM_128_HMAC_SHA1_80']), keyBase64: Buffer.alloc(rng.pick([30, 44]), 1).toString('base64') };
      return data;
    }
    case 'restartIce':
      return { transportId: anyTransport() };
    case 'produce': {
      const kind = rng.pick(['audio', 'video'] as const);
      const ssrc = ctx.nextSsrc++;
      const data: JsonObject = { transportId: idFrom(rng, ctx.sendTransports, ctx), kind, rtpParameters: (kind === 'audio' ? audioRtpParameters(ssrc) : videoRtpParameters(ssrc)) as Json };
      if (rng.chance(0.3)) data.source = rng.pick(['mic', 'camera', 'screen']);
      return data;
    }
    case 'closeProducer':
    case 'pauseProducer':
    case 'resumeProducer':
      return { producerId: idFrom(rng, ctx.producers, ctx) };
    case 'pauseConsumer':
    case 'resumeConsumer':
      return { consumerId: idFrom(rng, ctx.consumers, ctx) };
    case 'setConsumerPreferredLayers':
      return rng.chance(0.5) ? { consumerId: idFrom(rng, ctx.consumers, ctx), spatialLayer: rng.int(3), temporalLayer: rng.int(3) } : { consumerId: idFrom(rng, ctx.consumers, ctx), spatialLayer: rng.int(16) };
    case 'setConsumerView':
      return { consumerId: idFrom(rng, ctx.consumers, ctx), width: 1 + rng.int(1920), height: 1 + rng.int(1080) };
    case 'setView':
      return { pinned: rng.chance(0.5) ? [idFrom(rng, [], ctx)] : [], page: rng.chance(0.5) ? [idFrom(rng, [], ctx), idFrom(rng, [], ctx)] : [] };
    case 'chat':
      return { text: rng.pick(['hi', 'hello there', '😀', 'x'.repeat(500)]) };
    case 'getRouterRtpCapabilities':
    case 'ping':
    case 'leave':
      return {};
  }
}

/** Which method a socket asks for next: a call's usual order, with everything else mixed in. */
export function pickMethod(rng: Rng, ctx: FuzzContext): Method {
  if (!ctx.joined && rng.chance(0.35)) return 'join';
  if (ctx.joined) {
    const r = rng.next();
    if (ctx.sendTransports.length === 0 && r < 0.25) return 'createWebRtcTransport';
    if (ctx.producers.length < 2 && ctx.sendTransports.length && r < 0.4) return 'produce';
    if (ctx.recvTransports.length === 0 && r < 0.5) return 'createWebRtcTransport';
  }
  return rng.pick(METHODS);
}

function randomScalar(rng: Rng): Json {
  switch (rng.int(6)) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.pick(NASTY_NUMBERS) * (rng.chance(0.2) ? -1 : 1);
    case 3: return rng.pick(NASTY_STRINGS);
    case 4: return 'x'.repeat(rng.pick([1000, 4000, 9000]));
    default: return String.fromCharCode(...Array.from({ length: 1 + rng.int(12) }, () => rng.int(0x3000)));
  }
}

function deepNest(rng: Rng, depth: number): Json {
  let v: Json = randomScalar(rng);
  for (let i = 0; i < depth; i++) v = rng.chance(0.5) ? [v] : { a: v };
  return v;
}

function randomValue(rng: Rng, ctx: FuzzContext): Json {
  switch (rng.int(8)) {
    case 0: return [];
    case 1: return {};
    case 2: return Array.from({ length: 1 + rng.int(4) }, () => randomScalar(rng));
    case 3: return deepNest(rng, rng.pick([5, 50, 500, 2000]));
    case 4: return ctx.foreign.length ? rng.pick(ctx.foreign) : 'nope';
    case 5: return clone(ctx.caps);
    default: return randomScalar(rng);
  }
}

/** The containers in `root` a mutation can land in: any real field, but not inside the deep
 *  nesting an earlier mutation made (stacked, it would overflow this generator's own stack). */
function containers(root: Json): (Json[] | JsonObject)[] {
  const out: (Json[] | JsonObject)[] = [];
  const walk = (v: Json, depth: number): void => {
    if (v === null || typeof v !== 'object' || depth > 12) return;
    out.push(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) walk(child, depth + 1);
  };
  walk(root, 1);
  return out;
}

/** One value-level change somewhere inside `root` (in place); returns its name. */
function mutateValue(root: JsonObject, rng: Rng, ctx: FuzzContext): string {
  const target = rng.pick(containers(root));
  const keys: (string | number)[] = Array.isArray(target) ? target.map((_, i) => i) : Object.keys(target);
  const set = (k: string | number, v: Json): void => {
    if (Array.isArray(target)) target[k as number] = v;
    else defineKey(target, k as string, v);
  };
  const op = rng.int(7);
  if (keys.length === 0 || op === 0) {
    const k = Array.isArray(target) ? target.length : rng.pick(NASTY_KEYS);
    set(k, randomValue(rng, ctx));
    return `add ${String(k)}`;
  }
  const k = rng.pick(keys);
  const old = (target as Record<string | number, Json>)[k]!;
  switch (op) {
    case 1:
      if (Array.isArray(target)) target.splice(k as number, 1);
      else delete target[k as string];
      return `drop ${String(k)}`;
    case 2:
      set(k, randomScalar(rng));
      return `scalar at ${String(k)}`;
    case 3:
      set(k, randomValue(rng, ctx));
      return `value at ${String(k)}`;
    case 4:
      // The same data, one type over: "5" for 5, [x] for x, {x} for x.
      set(k, typeof old === 'number' ? String(old) : typeof old === 'string' ? (Number(old) || old.length) : rng.chance(0.5) ? [old] : { v: old });
      return `retype ${String(k)}`;
    case 5:
      if (typeof old === 'string') set(k, rng.pick([old + old, old.slice(1), old.toUpperCase(), `${old}\u0000`, old.repeat(200)]));
      else if (typeof old === 'number') set(k, rng.pick([old + 1, old - 1, -old, old + 0.5, old * 65536]));
      else if (Array.isArray(old)) set(k, [...old, ...old]);
      else set(k, deepNest(rng, 3));
      return `perturb ${String(k)}`;
    default:
      set(k, null);
      return `null at ${String(k)}`;
  }
}

function mutateEnvelope(msg: JsonObject, rng: Rng, lastIds: Json[]): string {
  switch (rng.int(3)) {
    case 0: {
      const choices: Json[] = [null, -1, 1.5, 2 ** 53, '', 'x'.repeat(65), [], {}, true, 'dup'];
      const v = rng.pick(choices);
      if (v === 'dup' && lastIds.length) msg.id = rng.pick(lastIds);
      else if (rng.chance(0.2)) delete msg.id;
      else msg.id = v;
      return 'id';
    }
    case 1:
      msg.method = rng.chance(0.7) ? rng.pick(NASTY_METHODS) : randomScalar(rng);
      return 'method';
    default:
      if (rng.chance(0.3)) delete msg.data;
      else msg.data = rng.pick<Json>([null, [], 'data', 0, [msg.data ?? {}], { data: msg.data ?? {} }]);
      return 'data';
  }
}

function mutateText(text: string, rng: Rng): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(6)) {
    case 0: return text.slice(0, at);
    case 1: return text.slice(0, at) + rng.pick(TEXT_JUNK) + text.slice(at);
    case 2: return text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ (1 << rng.int(7))) + text.slice(at + 1);
    case 3: return text.replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/i, rng.pick(['1e400', '-0', '1E-400', '0.0000001', '00', '+1', '.5', '0x10', '1_000']));
    case 4: return text.replace('{', `{"id":${rng.pick(['1', '"a"', 'null', '{}'])},`);
    default: return `${rng.pick(['\ufeff', ' \n\t', ''])}${text}${rng.pick(['', ' ', '}', ',', '\u0000'])}`;
  }
}

/**
 * The id a response to `text` must carry, JSON-encoded, from the protocol's rule: the id is
 * echoed whenever the JSON parses and holds a valid id, whatever else is wrong with it;
 * otherwise the error goes out with id null.
 */
export function answerKeyOf(text: string): string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return 'null';
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !Object.hasOwn(raw, 'id')) return 'null';
  const id = (raw as { id: unknown }).id;
  const validNumber = typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= Number.MAX_SAFE_INTEGER;
  const validString = typeof id === 'string' && id.length >= 1 && id.length <= 64;
  return validNumber || validString ? JSON.stringify(id) : 'null';
}

export interface MakeFrameOptions {
  id: number;
  /** Ids recently sent on this socket, to make duplicates from. */
  recentIds: Json[];
  maxMessageBytes: number;
}

/** The next frame for one socket: a valid request about a fifth of the time, else a mutation of one. */
export function makeFrame(rng: Rng, ctx: FuzzContext, o: MakeFrameOptions): Frame {
  const method = pickMethod(rng, ctx);
  const msg: JsonObject = { id: o.id, method, data: validData(method, rng, ctx) };
  const frame = (payload: string | Buffer, mutation: string, extra: Partial<Frame> = {}): Frame => ({
    payload,
    binary: false,
    mutation,
    method,
    answerKey: typeof payload === 'string' ? answerKeyOf(payload) : 'null',
    // Stacked mutations (deep nesting inside deep nesting) can cross the limit by themselves.
    closes: Buffer.byteLength(payload) > o.maxMessageBytes,
    ...extra,
  });
  const r = rng.next();
  if (r < 0.2) return frame(JSON.stringify(msg), 'valid');
  if (r < 0.6) {
    const ops = Array.from({ length: 1 + rng.int(3) }, () => mutateValue(msg, rng, ctx));
    return frame(JSON.stringify(msg), `value: ${ops.join(', ')}`);
  }
  if (r < 0.75) {
    const op = mutateEnvelope(msg, rng, o.recentIds);
    return frame(JSON.stringify(msg), `envelope: ${op}`);
  }
  if (r < 0.93) return frame(mutateText(JSON.stringify(msg), rng), 'text');
  if (r < 0.985) return frame(Buffer.from(JSON.stringify(msg)), 'binary frame', { binary: true });
  if (r < 0.9985) return frame(JSON.stringify({ id: o.id, method: rng.pick(NASTY_METHODS), data: { [rng.pick(['x', 'y'])]: deepNest(rng, 100) } }), 'unknown method, nested');
  if (r < 0.9993) {
    // Invalid UTF-8 in a text frame: the WebSocket layer must close, not hand it on.
    return frame(Buffer.concat([Buffer.from(`{"id":${o.id},"method":"chat","data":{"text":"`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}}')]), 'invalid UTF-8', { closes: true, answerKey: 'null' });
  }
  return frame(JSON.stringify({ id: o.id, method: 'chat', data: { text: 'x'.repeat(o.maxMessageBytes + rng.int(1000)) } }), 'oversized', { closes: true });
}
