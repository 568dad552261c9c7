import type { Page } from 'playwright-core';
import { diffSender, senderSnapshot, type SenderWindow } from './sender.js';

/*
 * Call quality as each receiving browser sees it, read from the octomesh web app's own
 * receiving PeerConnection (window.__octomesh.client.getRecvStats()) and matched to remote
 * peers through the SDK's consumers (track id ↔ inbound-rtp trackIdentifier). No app change.
 *
 * API (stable; test/lab's runner calls these):
 *
 *   snapshot(page, opts?: {receiver?}): Promise<PageSnapshot>
 *       One reading of every inbound stream of one page, keyed `${peerName}/${kind}`; never
 *       rejects (a page that cannot be evaluated gives no streams, state 'unreachable: …').
 *   pageName(page): string                                 (the page URL's `name` parameter)
 *   snapshotAll(pages): Promise<PageSnapshot[]>            (all pages at once)
 *   diffSnapshots(before, after): StreamWindow[]           (pure; one row per remote stream)
 *   measureWindow(pages, ms, opts?: {everyMs?}): Promise<QualityWindow>
 *       Snapshots at the start and end (and every `everyMs` in between, for lostStreams);
 *       rows are the deltas over the window; `senders` the same window at each page's sender.
 *   waitUntilDecodingAll(pages, expectedPeers, timeoutMs, opts?: {since?, pollMs?}): Promise<number>
 *       Milliseconds (from `since`, a Date.now() value, default the call) until every page is
 *       decoding video from `expectedPeers` other peers (a number, or the peers' names), i.e.
 *       framesDecoded grew between two polls. Rejects with DecodingTimeoutError (`.missing`).
 *   decodingPeers(before, after): string[]                 (pure; senders whose frames grew)
 *   lostStreams(snapshots, users, kinds?): LostStream[]    (pure)
 *       Every (receiver, sender, kind) among `users` for which no snapshot ever showed media
 *       (video: a decoded frame; audio: a packet): the stream never reached that receiver.
 *   describeReceiver(page): Promise<string>
 *       The page's consumers and raw inbound-rtp streams, to log when a stream is missing.
 *
 * Names: a receiver is named by the `name` query parameter of its page URL (the app's display
 * name) unless `receiver` is given; a sender by its display name from the SDK's peer list.
 * Keys use names, not peer ids, because a rejoin (failover) gives a user a new peer id.
 */

export type Kind = 'audio' | 'video';

/** Cumulative counters of one inbound-rtp stream at one moment (as WebRTC reports them). */
export interface StreamSnapshot {
  /** `${peerName}/${kind}`, plus `/${source}` for a source other than camera/mic. */
  key: string;
  peerName: string;
  peerId: string;
  peerRegion: string | null;
  kind: Kind;
  source: string;
  consumerId: string;
  /** The stats object's id and SSRC: a new value means a new stream (counters restart). */
  statsId: string;
  ssrc: number;
  /** Layers the server says it forwards (consumerLayersChanged), null if unknown/none. */
  spatialLayer: number | null;
  temporalLayer: number | null;
  producerPaused: boolean;
  packetsReceived: number;
  packetsLost: number;
  bytesReceived: number;
  nackCount: number;
  /** Video only (0 for audio). */
  framesDecoded: number;
  framesDropped: number;
  keyFramesDecoded: number;
  freezeCount: number;
  /** Seconds, as WebRTC reports it. */
  totalFreezesDuration: number;
  pliCount: number;
  firCount: number;
  frameWidth: number;
  frameHeight: number;
  /** Seconds summed over emitted frames/samples, and their count. */
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  /** Audio only: concealed samples out of samples received. */
  concealedSamples: number;
  totalSamplesReceived: number;
  /** The jitter buffer target the client set on this receiver (ms; client/sdk/RelayJitter.ts), null: none. */
  jbTargetMs?: number | null;
}

export interface PageSnapshot {
  receiver: string;
  /** Date.now() in the page when the stats came back. */
  at: number;
  /** The app's state (joined, reconnecting, ...) and the region its node is in. */
  state: string;
  region: string | null;
  streams: StreamSnapshot[];
}

/** One remote stream at one receiver over a window: rates and deltas. */
export interface StreamWindow {
  receiver: string;
  receiverRegion: string | null;
  key: string;
  peerName: string;
  peerRegion: string | null;
  kind: Kind;
  seconds: number;
  /** Frames decoded per second (video; null for audio). */
  fps: number | null;
  freezeCount: number;
  freezeMs: number;
  nackCount: number;
  pliCount: number;
  /** Jitter-buffer delay per emitted frame (video) or sample (audio), ms; null without output. */
  jbMsPerFrame: number | null;
  /** The received size at the end of the window (the spatial layer reaching this receiver). */
  frameWidth: number;
  frameHeight: number;
  /** The layers the server says it forwards at the end of the window (null: unknown or none). */
  spatialLayer: number | null;
  temporalLayer: number | null;
  packetsLost: number;
  packetsReceived: number;
  /** packetsLost / (packetsLost + packetsReceived) over the window, 0..1. */
  lossFraction: number;
  bytesPerS: number;
  /** Audio: concealed fraction of samples over the window (null for video). */
  concealedFraction: number | null;
  /** The client's jitter buffer target at the end of the window (ms), null: the browser's own. */
  jbTargetMs?: number | null;
  /** The stream was replaced during the window (e.g. a rejoin); deltas count from its start. */
  restarted: boolean;
  /** No such stream at the end of the window (it went away). */
  gone: boolean;
}

export interface QualityWindow {
  seconds: number;
  rows: StreamWindow[];
  /** Every snapshot taken (start, intermediate, end), for lostStreams. */
  snapshots: PageSnapshot[];
  /** The same window seen from each page's sending side (sender.ts). */
  senders: SenderWindow[];
}

export interface LostStream {
  receiver: string;
  sender: string;
  kind: Kind;
}

export class DecodingTimeoutError extends Error {
  override readonly name = 'DecodingTimeoutError';
  constructor(readonly timeoutMs: number, readonly missing: string[]) {
    super(`not every page decoded every peer within ${timeoutMs} ms; missing: ${missing.join(', ') || 'none known'}`);
  }
}

const STATS_TIMEOUT_MS = 5_000;

/* eslint-disable @typescript-eslint/no-explicit-any */
// Runs in the page (serialised by playwright): self-contained, no imports, no DOM types here.
async function collectInPage(arg: { receiver: string | null; timeoutMs: number }): Promise<any> {
  const w = globalThis as any;
  const hook = w.__octomesh;
  const receiver = arg.receiver ?? new URL(w.location.href).searchParams.get('name') ?? '';
  const empty = { receiver, at: Date.now(), state: hook?.state ?? 'none', region: hook?.region ?? null, streams: [] as any[] };
  if (!hook?.client) return empty;
  const client = hook.client;
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), arg.timeoutMs));
  const report: any = await Promise.race([client.getRecvStats().catch(() => null), timeout]);
  const peers = new Map<string, any>(client.peers.map((p: any) => [p.peerId, p]));
  const byTrack = new Map<string, any>(client.consumers.map((c: any) => [c.track.id, c]));
  const streams: any[] = [];
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  report?.forEach((s: any) => {
    if (s.type !== 'inbound-rtp') return;
    // mediasoup-client's probator stream (and anything not a consumer) has no consumer track.
    const c = byTrack.get(s.trackIdentifier);
    if (!c) return;
    const peer = peers.get(c.peerId);
    const peerName = peer?.displayName ?? c.peerId;
    const defaultSource = c.kind === 'audio' ? 'mic' : 'camera';
    streams.push({
      key: c.source && c.source !== defaultSource ? `${peerName}/${c.kind}/${c.source}` : `${peerName}/${c.kind}`,
      peerName,
      peerId: c.peerId,
      peerRegion: peer?.region ?? null,
      kind: c.kind,
      source: c.source ?? defaultSource,
      consumerId: c.consumerId,
      statsId: s.id,
      ssrc: n(s.ssrc),
      spatialLayer: c.currentLayers?.spatialLayer ?? null,
      temporalLayer: c.currentLayers?.temporalLayer ?? null,
      producerPaused: Boolean(c.producerPaused),
      packetsReceived: n(s.packetsReceived),
      packetsLost: n(s.packetsLost),
      bytesReceived: n(s.bytesReceived),
      nackCount: n(s.nackCount),
      framesDecoded: n(s.framesDecoded),
      framesDropped: n(s.framesDropped),
      keyFramesDecoded: n(s.keyFramesDecoded),
      freezeCount: n(s.freezeCount),
      totalFreezesDuration: n(s.totalFreezesDuration),
      pliCount: n(s.pliCount),
      firCount: n(s.firCount),
      frameWidth: n(s.frameWidth),
      frameHeight: n(s.frameHeight),
      jitterBufferDelay: n(s.jitterBufferDelay),
      jitterBufferEmittedCount: n(s.jitterBufferEmittedCount),
      concealedSamples: n(s.concealedSamples),
      totalSamplesReceived: n(s.totalSamplesReceived),
      jbTargetMs: typeof c.jitterBufferTargetMs === 'number' ? c.jitterBufferTargetMs : null,
    });
  });
  return { ...empty, at: Date.now(), streams };
}

/** The `name` query parameter of the page's URL, read from Node (works while the page is busy). */
export function pageName(page: Page): string {
  try {
    return new URL(page.url()).searchParams.get('name') ?? '';
  } catch {
    return '';
  }
}

/**
 * One reading of every inbound stream of `page`. A page without the app yields no streams; so
 * does one that cannot be evaluated (crashed, navigating), with state `unreachable: <why>`,
 * so that a window over a failure still has rows (its streams then show as gone).
 */
export async function snapshot(page: Page, opts: { receiver?: string } = {}): Promise<PageSnapshot> {
  try {
    return (await page.evaluate(collectInPage, { receiver: opts.receiver ?? null, timeoutMs: STATS_TIMEOUT_MS })) as PageSnapshot;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { receiver: opts.receiver ?? pageName(page), at: Date.now(), state: `unreachable: ${why}`, region: null, streams: [] };
  }
}

export function snapshotAll(pages: readonly Page[]): Promise<PageSnapshot[]> {
  return Promise.all(pages.map((p) => snapshot(p)));
}

/**
 * Rows for one receiver between two of its snapshots. A stream whose stats id changed, or whose
 * counters went back, was replaced (a rejoin): its counters are taken from zero. A stream only
 * in `before` is reported as gone, with zero rates.
 */
export function diffSnapshots(before: PageSnapshot, after: PageSnapshot): StreamWindow[] {
  if (before.receiver !== after.receiver) throw new TypeError(`snapshots of two receivers: ${before.receiver} and ${after.receiver}`);
  const seconds = Math.max(0, (after.at - before.at) / 1000);
  const old = new Map(before.streams.map((s) => [s.key, s]));
  const rows: StreamWindow[] = [];
  for (const b of after.streams) {
    const a0 = old.get(b.key);
    old.delete(b.key);
    const restarted = a0 !== undefined && (a0.statsId !== b.statsId || a0.ssrc !== b.ssrc || b.packetsReceived < a0.packetsReceived || b.framesDecoded < a0.framesDecoded);
    const a = a0 === undefined || restarted ? null : a0;
    rows.push(row(after, b, a, seconds, restarted, false));
  }
  for (const a of old.values()) rows.push(row(after, a, a, seconds, false, true));
  return rows.sort((x, y) => x.key.localeCompare(y.key));
}

function row(at: PageSnapshot, b: StreamSnapshot, a: StreamSnapshot | null, seconds: number, restarted: boolean, gone: boolean): StreamWindow {
  const d = (k: keyof StreamSnapshot): number => Math.max(0, (b[k] as number) - ((a?.[k] as number | undefined) ?? 0));
  const per = (v: number): number => (seconds > 0 ? v / seconds : 0);
  const lost = d('packetsLost');
  const received = d('packetsReceived');
  const emitted = d('jitterBufferEmittedCount');
  const samples = d('totalSamplesReceived');
  return {
    receiver: at.receiver,
    receiverRegion: at.region,
    key: b.key,
    peerName: b.peerName,
    peerRegion: b.peerRegion,
    kind: b.kind,
    seconds,
    fps: b.kind === 'video' ? per(d('framesDecoded')) : null,
    freezeCount: d('freezeCount'),
    freezeMs: d('totalFreezesDuration') * 1000,
    nackCount: d('nackCount'),
    pliCount: d('pliCount'),
    jbMsPerFrame: emitted > 0 ? (d('jitterBufferDelay') / emitted) * 1000 : null,
    frameWidth: gone ? 0 : b.frameWidth,
    frameHeight: gone ? 0 : b.frameHeight,
    spatialLayer: gone ? null : b.spatialLayer,
    temporalLayer: gone ? null : b.temporalLayer,
    packetsLost: lost,
    packetsReceived: received,
    lossFraction: lost + received > 0 ? lost / (lost + received) : 0,
    bytesPerS: per(d('bytesReceived')),
    concealedFraction: b.kind === 'audio' ? (samples > 0 ? d('concealedSamples') / samples : 0) : null,
    jbTargetMs: gone ? null : (b.jbTargetMs ?? null),
    restarted,
    gone,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Measures `pages` for `ms`: rows are the deltas between the first and last snapshot of each
 * page; snapshots in between (every `everyMs`, default 2 s) only feed lostStreams.
 */
export async function measureWindow(pages: readonly Page[], ms: number, opts: { everyMs?: number } = {}): Promise<QualityWindow> {
  const everyMs = opts.everyMs ?? 2_000;
  const start = Date.now();
  const [first, sendFirst] = await Promise.all([snapshotAll(pages), Promise.all(pages.map((p) => senderSnapshot(p)))]);
  const snapshots = [...first];
  for (;;) {
    const left = start + ms - Date.now();
    if (left <= 0) break;
    // The measurement window itself (its length is the caller's `ms`), sampled every `everyMs`.
    await sleep(Math.min(left, everyMs));
    if (start + ms - Date.now() > 50) snapshots.push(...(await snapshotAll(pages)));
  }
  const [last, sendLast] = await Promise.all([snapshotAll(pages), Promise.all(pages.map((p) => senderSnapshot(p)))]);
  snapshots.push(...last);
  const rows = first.flatMap((a, i) => diffSnapshots(a, last[i]!));
  const senders = sendFirst.map((a, i) => diffSender(a, sendLast[i]!));
  return { seconds: (Date.now() - start) / 1000, rows, snapshots, senders };
}

/** Every (receiver, sender, kind) among `users` that no snapshot shows media for. */
export function lostStreams(snapshots: readonly PageSnapshot[], users: readonly string[], kinds: readonly Kind[] = ['video', 'audio']): LostStream[] {
  const reached = new Set<string>();
  for (const snap of snapshots) {
    for (const s of snap.streams) {
      const got = s.kind === 'video' ? s.framesDecoded > 0 : s.packetsReceived > 0;
      if (got) reached.add(`${snap.receiver}\u0000${s.peerName}\u0000${s.kind}`);
    }
  }
  const out: LostStream[] = [];
  for (const receiver of users) {
    for (const sender of users) {
      if (sender === receiver) continue;
      for (const kind of kinds) if (!reached.has(`${receiver}\u0000${sender}\u0000${kind}`)) out.push({ receiver, sender, kind });
    }
  }
  return out;
}

/** Names of the senders whose video `page` decoded between two snapshots (framesDecoded grew). */
export function decodingPeers(before: PageSnapshot, after: PageSnapshot): string[] {
  const old = new Map(before.streams.map((s) => [s.key, s]));
  const out = new Set<string>();
  for (const b of after.streams) {
    if (b.kind !== 'video') continue;
    const a = old.get(b.key);
    const same = a !== undefined && a.statsId === b.statsId && a.ssrc === b.ssrc;
    // A stream new since the last poll (a rejoin) counts once it has decoded a frame.
    if (b.framesDecoded > (same ? a.framesDecoded : 0)) out.add(b.peerName);
  }
  return [...out].sort();
}

/**
 * Time until every page decodes video from every expected peer, for failover figures. A peer
 * counts on a page when its frames decoded grew between two polls `pollMs` apart (default
 * 250 ms), so a frozen stream from a dead node does not count.
 */
export async function waitUntilDecodingAll(
  pages: readonly Page[],
  expectedPeers: number | readonly string[],
  timeoutMs: number,
  opts: { since?: number; pollMs?: number } = {},
): Promise<number> {
  const since = opts.since ?? Date.now();
  const pollMs = opts.pollMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  const enough = (receiver: string, decoding: string[]): string[] => {
    if (typeof expectedPeers === 'number') return decoding.length >= expectedPeers ? [] : [`${receiver} decodes ${decoding.length}/${expectedPeers} (${decoding.join(' ') || 'none'})`];
    return expectedPeers.filter((p) => p !== receiver && !decoding.includes(p)).map((p) => `${receiver} ← ${p}`);
  };
  let prev = await Promise.all(pages.map((p) => snapshot(p)));
  let missing: string[] = ['no poll yet'];
  for (;;) {
    // A sampling interval of this bounded poll: decoding is frames rising between two reads.
    await sleep(pollMs);
    const next = await Promise.all(pages.map((p) => snapshot(p)));
    const at = Date.now();
    missing = [];
    next.forEach((b, i) => missing.push(...enough(b.receiver, decodingPeers(prev[i]!, b))));
    if (missing.length === 0) return at - since;
    if (at >= deadline) throw new DecodingTimeoutError(timeoutMs, missing);
    prev = next;
  }
}

/**
 * What a receiving page holds, for when a stream is missing: its consumers (sender, kind,
 * track, paused) and its raw inbound-rtp streams (track, ssrc, mid, counters), one per line.
 */
export async function describeReceiver(page: Page): Promise<string> {
  return (await page.evaluate(async (timeoutMs: number) => {
    const w = globalThis as any;
    const hook = w.__octomesh;
    const lines: string[] = [`${new URL(w.location.href).searchParams.get('name')}: state ${hook?.state} region ${hook?.region} peer ${hook?.peerId}`];
    if (!hook?.client) return lines.join('\n');
    const client = hook.client;
    for (const p of client.peers) lines.push(`  peer ${p.displayName} ${p.peerId} ${p.region}`);
    for (const c of client.consumers) {
      lines.push(`  consumer ${c.kind} from ${c.peerId} ${c.consumerId} track ${c.track.id} ${c.track.readyState}${c.track.muted ? ' muted' : ''}${c.producerPaused ? ' producer-paused' : ''} layers ${JSON.stringify(c.currentLayers)}`);
    }
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), timeoutMs));
    const report: any = await Promise.race([client.getRecvStats().catch(() => null), timeout]);
    report?.forEach((s: any) => {
      if (s.type === 'inbound-rtp') lines.push(`  inbound-rtp ${s.kind} track ${s.trackIdentifier} ssrc ${s.ssrc} mid ${s.mid} packets ${s.packetsReceived} frames ${s.framesDecoded ?? '-'}`);
    });
    return lines.join('\n');
  }, STATS_TIMEOUT_MS)) as string;
}
