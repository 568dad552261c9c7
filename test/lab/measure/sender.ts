import type { Page } from 'playwright-core';

/*
 * The sending side of each browser, from the web app's sending PeerConnection
 * (window.__octomesh.client.getSendStats()): how many frames the camera gave, and per simulcast
 * layer (rid) what was encoded and sent, the NACKs and PLIs that came back (PLIs reaching the
 * sender across the relay are what a receiver's keyframe request turned into), retransmissions,
 * and why the encoder held back (qualityLimitationReason: 'cpu' means the machine, not the
 * network). Lets a freeze at a receiver be told apart from a sender that was starved.
 *
 * API (stable; test/lab's runner may call these; quality.ts's measureWindow fills `senders`):
 *
 *   senderSnapshot(page, opts?: {sender?}): Promise<SenderSnapshot>
 *   diffSender(before, after): SenderWindow                 (pure)
 *   (report.ts's formatSenderTable(title, windows) prints them)
 */

export interface LayerSnapshot {
  rid: string;
  frameWidth: number;
  framesEncoded: number;
  framesSent: number;
  bytesSent: number;
  retransmittedBytesSent: number;
  nackCount: number;
  pliCount: number;
  firCount: number;
  /** Seconds spent encoding, summed. */
  totalEncodeTime: number;
  qualityLimitationReason: string;
  /** Seconds spent limited by cpu / bandwidth so far. */
  cpuLimitedS: number;
  bandwidthLimitedS: number;
}

export interface SenderSnapshot {
  sender: string;
  at: number;
  /** Video frames the camera (or stamp camera) delivered to the encoder so far. */
  sourceFrames: number;
  layers: LayerSnapshot[];
}

export interface LayerWindow {
  rid: string;
  frameWidth: number;
  fps: number;
  kbps: number;
  retransmitKbps: number;
  nackCount: number;
  pliCount: number;
  encodeMsPerFrame: number | null;
  /** The reason at the end of the window, and the share of the window limited by cpu / bandwidth. */
  qualityLimitationReason: string;
  cpuLimitedFraction: number;
  bandwidthLimitedFraction: number;
}

export interface SenderWindow {
  sender: string;
  seconds: number;
  sourceFps: number;
  layers: LayerWindow[];
}

const STATS_TIMEOUT_MS = 5_000;

/* eslint-disable @typescript-eslint/no-explicit-any */
async function collectSendInPage(arg: { sender: string | null; timeoutMs: number }): Promise<any> {
  const w = globalThis as any;
  const client = w.__octomesh?.client;
  const sender = arg.sender ?? new URL(w.location.href).searchParams.get('name') ?? '';
  const out = { sender, at: Date.now(), sourceFrames: 0, layers: [] as any[] };
  if (!client) return out;
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), arg.timeoutMs));
  const report: any = await Promise.race([client.getSendStats().catch(() => null), timeout]);
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  report?.forEach((s: any) => {
    if (s.kind !== 'video') return;
    if (s.type === 'media-source') out.sourceFrames += n(s.frames);
    if (s.type !== 'outbound-rtp') return;
    out.layers.push({
      rid: s.rid ?? String(s.ssrc),
      frameWidth: n(s.frameWidth),
      framesEncoded: n(s.framesEncoded),
      framesSent: n(s.framesSent),
      bytesSent: n(s.bytesSent),
      retransmittedBytesSent: n(s.retransmittedBytesSent),
      nackCount: n(s.nackCount),
      pliCount: n(s.pliCount),
      firCount: n(s.firCount),
      totalEncodeTime: n(s.totalEncodeTime),
      qualityLimitationReason: s.qualityLimitationReason ?? '',
      cpuLimitedS: n(s.qualityLimitationDurations?.cpu),
      bandwidthLimitedS: n(s.qualityLimitationDurations?.bandwidth),
    });
  });
  out.at = Date.now();
  out.layers.sort((a: any, b: any) => String(a.rid).localeCompare(String(b.rid)));
  return out;
}

/** Never rejects: a page that cannot be evaluated gives no layers. */
export async function senderSnapshot(page: Page, opts: { sender?: string } = {}): Promise<SenderSnapshot> {
  try {
    return (await page.evaluate(collectSendInPage, { sender: opts.sender ?? null, timeoutMs: STATS_TIMEOUT_MS })) as SenderSnapshot;
  } catch {
    let sender = opts.sender ?? '';
    try {
      sender ||= new URL(page.url()).searchParams.get('name') ?? '';
    } catch {
      // about:blank or a closed page: no name
    }
    return { sender, at: Date.now(), sourceFrames: 0, layers: [] };
  }
}

/** Rates per layer between two snapshots of one sender; a layer that restarted counts from zero. */
export function diffSender(before: SenderSnapshot, after: SenderSnapshot): SenderWindow {
  if (before.sender !== after.sender) throw new TypeError(`snapshots of two senders: ${before.sender} and ${after.sender}`);
  const seconds = Math.max(0, (after.at - before.at) / 1000);
  const per = (v: number): number => (seconds > 0 ? v / seconds : 0);
  const old = new Map(before.layers.map((l) => [l.rid, l]));
  const layers = after.layers.map((b): LayerWindow => {
    const a0 = old.get(b.rid);
    const a = a0 && b.framesEncoded >= a0.framesEncoded && b.bytesSent >= a0.bytesSent ? a0 : undefined;
    const d = (k: keyof LayerSnapshot): number => Math.max(0, (b[k] as number) - ((a?.[k] as number | undefined) ?? 0));
    const frames = d('framesEncoded');
    return {
      rid: b.rid,
      frameWidth: b.frameWidth,
      fps: per(frames),
      kbps: (per(d('bytesSent')) * 8) / 1000,
      retransmitKbps: (per(d('retransmittedBytesSent')) * 8) / 1000,
      nackCount: d('nackCount'),
      pliCount: d('pliCount'),
      encodeMsPerFrame: frames > 0 ? (d('totalEncodeTime') / frames) * 1000 : null,
      qualityLimitationReason: b.qualityLimitationReason,
      cpuLimitedFraction: seconds > 0 ? Math.min(1, d('cpuLimitedS') / seconds) : 0,
      bandwidthLimitedFraction: seconds > 0 ? Math.min(1, d('bandwidthLimitedS') / seconds) : 0,
    };
  });
  const sourceFrames = after.sourceFrames >= before.sourceFrames ? after.sourceFrames - before.sourceFrames : after.sourceFrames;
  return { sender: after.sender, seconds, sourceFps: per(sourceFrames), layers };
}
