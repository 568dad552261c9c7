import type { OctomeshClient } from '../sdk/OctomeshClient.js';
import { lossBetween } from './quality.js';

// One getStats() per PeerConnection per second, read into what the tiles show: per remote track
// its loss and audio level, the round trip of each transport, our own microphone's level and the
// loss the node reports for what we send.

export interface TrackFigures {
  lossPct: number | null;
  /** inbound-rtp audioLevel (0..1); null for video. */
  audioLevel: number | null;
  frameWidth: number;
  frameHeight: number;
  /** Video frames decoded since the last poll; null for audio or on the first poll. */
  framesDecoded: number | null;
}

export interface StatsSnapshot {
  /** Round trip of the receiving / sending transport's selected candidate pair, ms. */
  recvRttMs: number | null;
  sendRttMs: number | null;
  /** By MediaStreamTrack id (inbound-rtp trackIdentifier). */
  tracks: Map<string, TrackFigures>;
  /** Our microphone's level (media-source audioLevel), 0..1; null before it is sent. */
  localAudioLevel: number | null;
  /** Loss the node reports for what we send (remote-inbound-rtp fractionLost, worst stream), percent. */
  sendLossPct: number | null;
}

type Stat = Record<string, unknown> & { type: string; id: string };
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export const STATS_INTERVAL_MS = 1_000;

export class StatsPoller {
  readonly #client: OctomeshClient;
  readonly #onSnapshot: (s: StatsSnapshot) => void;
  readonly #counters = new Map<string, { lost: number; received: number; frames: number }>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;
  #closed = false;

  constructor(client: OctomeshClient, onSnapshot: (s: StatsSnapshot) => void) {
    this.#client = client;
    this.#onSnapshot = onSnapshot;
    this.#timer = setInterval(() => void this.#poll(), STATS_INTERVAL_MS);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
  }

  async #poll(): Promise<void> {
    if (this.#busy || this.#closed) return; // a slow getStats() must not pile up
    this.#busy = true;
    try {
      const [recv, send] = await Promise.all([this.#client.getRecvStats().catch(() => null), this.#client.getSendStats().catch(() => null)]);
      if (!this.#closed) this.#onSnapshot(this.#read(recv, send));
    } finally {
      this.#busy = false;
    }
  }

  #read(recv: RTCStatsReport | null, send: RTCStatsReport | null): StatsSnapshot {
    const out: StatsSnapshot = { recvRttMs: pairRttMs(recv), sendRttMs: pairRttMs(send), tracks: new Map(), localAudioLevel: null, sendLossPct: null };
    const seen = new Set<string>();
    recv?.forEach((s: Stat) => {
      if (s.type !== 'inbound-rtp' || typeof s['trackIdentifier'] !== 'string') return;
      const id = s['trackIdentifier'];
      const now = { lost: num(s['packetsLost']) ?? 0, received: num(s['packetsReceived']) ?? 0, frames: num(s['framesDecoded']) ?? 0 };
      const prev = this.#counters.get(id);
      out.tracks.set(id, {
        lossPct: lossBetween(prev, now),
        audioLevel: s['kind'] === 'audio' ? num(s['audioLevel']) : null,
        frameWidth: num(s['frameWidth']) ?? 0,
        frameHeight: num(s['frameHeight']) ?? 0,
        framesDecoded: s['kind'] === 'video' && prev ? now.frames - prev.frames : null,
      });
      this.#counters.set(id, now);
      seen.add(id);
    });
    for (const id of this.#counters.keys()) if (!seen.has(id)) this.#counters.delete(id);
    send?.forEach((s: Stat) => {
      if (s.type === 'media-source' && s['kind'] === 'audio') out.localAudioLevel = num(s['audioLevel']);
      const fraction = s.type === 'remote-inbound-rtp' ? num(s['fractionLost']) : null;
      if (fraction !== null) out.sendLossPct = Math.max(out.sendLossPct ?? 0, fraction * 100);
    });
    return out;
  }
}

/** currentRoundTripTime of the transport's selected candidate pair, ms. */
export function pairRttMs(report: RTCStatsReport | null): number | null {
  let pairId: string | undefined;
  report?.forEach((s: Stat) => {
    if (s.type === 'transport' && typeof s['selectedCandidatePairId'] === 'string') pairId = s['selectedCandidatePairId'];
  });
  const pair = pairId ? (report?.get(pairId) as Stat | undefined) : undefined;
  const rtt = num(pair?.['currentRoundTripTime']);
  return rtt === null ? null : rtt * 1000;
}
