import type { Page } from 'playwright-core';

/*
 * What arrives on one browser's receiving transport, by purpose: media payload, retransmissions
 * (RTX: NACK repairs), mediasoup's bandwidth probes (the 'probator' stream mediasoup-client
 * adds, which no consumer owns), and RTP/UDP/IP headers. Under a throttle this says whether the
 * server sent more than the link takes, and on what: the media rows alone cannot.
 */

export interface DownlinkTotals {
  atMs: number;
  /** Payload bytes of every inbound-rtp stream, retransmissions included. */
  bytes: number;
  headerBytes: number;
  rtxBytes: number;
  /** Of `bytes`, those on streams no consumer owns (mediasoup's probation stream). */
  probeBytes: number;
  packets: number;
  packetsLost: number;
}

/** One reading of the page's receiving PeerConnection (window.__octomesh.client). */
export async function downlinkTotals(page: Page): Promise<DownlinkTotals | null> {
  return page.evaluate(async () => {
    // Runs in the page (the node-side tsconfig has no DOM types).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const hook = (globalThis as any).__octomesh;
    const report = await hook?.client?.getRecvStats();
    if (!report) return null;
    const owned = new Set(hook.client.consumers.map((c: { track: { id: string } }) => c.track.id));
    const t = { atMs: Date.now(), bytes: 0, headerBytes: 0, rtxBytes: 0, probeBytes: 0, packets: 0, packetsLost: 0 };
    report.forEach((s: Record<string, unknown>) => {
      if (s.type !== 'inbound-rtp') return;
      const n = (k: string): number => (typeof s[k] === 'number' ? (s[k] as number) : 0);
      t.bytes += n('bytesReceived');
      t.headerBytes += n('headerBytesReceived');
      t.rtxBytes += n('retransmittedBytesReceived');
      t.packets += n('packetsReceived');
      t.packetsLost += n('packetsLost');
      if (!owned.has(String(s.trackIdentifier ?? ''))) t.probeBytes += n('bytesReceived');
    });
    return t;
  });
}

export interface DownlinkWindow {
  seconds: number;
  /** kbit/s over the window, each from DownlinkTotals' fields; total = payload + headers. */
  totalKbps: number;
  mediaKbps: number;
  rtxKbps: number;
  probeKbps: number;
  headerKbps: number;
  lossPct: number;
}

export function diffDownlink(a: DownlinkTotals, b: DownlinkTotals): DownlinkWindow {
  const s = Math.max(0.001, (b.atMs - a.atMs) / 1000);
  const kbps = (bytes: number): number => Math.round((bytes * 8) / s / 1000);
  const payload = b.bytes - a.bytes;
  const rtx = b.rtxBytes - a.rtxBytes;
  const probe = b.probeBytes - a.probeBytes;
  const headers = b.headerBytes - a.headerBytes;
  const got = b.packets - a.packets;
  const lost = b.packetsLost - a.packetsLost;
  return {
    seconds: Number(s.toFixed(1)),
    totalKbps: kbps(payload + headers),
    mediaKbps: kbps(payload - rtx - probe),
    rtxKbps: kbps(rtx),
    probeKbps: kbps(probe),
    headerKbps: kbps(headers),
    lossPct: got + lost > 0 ? Number(((100 * lost) / (got + lost)).toFixed(1)) : 0,
  };
}

export const formatDownlink = (who: string, w: DownlinkWindow): string =>
  `${who}'s downlink over ${w.seconds} s: ${w.totalKbps} kbit/s in all = media ${w.mediaKbps} + retransmissions ${w.rtxKbps} + probes ${w.probeKbps} + headers ${w.headerKbps}; loss ${w.lossPct} %`;

/**
 * The server's layer choice for each video the page receives (consumerLayersChanged), sampled
 * every `everyMs` until `stop()`: a timeline of "t s peer=spatial/temporal" at each change,
 * which shows whether bandwidth estimation settles or keeps switching up and down.
 */
export function sampleLayers(page: Page, everyMs = 200): { stop: () => Promise<string[]> } {
  const t0 = Date.now();
  const timeline: string[] = [];
  const last = new Map<string, string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const layers = (await page
        .evaluate(() => {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const h = (globalThis as any).__octomesh;
          type C = { kind: string; peerId: string; currentLayers: { spatialLayer: number; temporalLayer: number } | null };
          return ((h?.consumers?.() ?? []) as C[])
            .filter((c) => c.kind === 'video')
            .map((c) => [c.peerId.slice(0, 4), c.currentLayers ? `${c.currentLayers.spatialLayer}/${c.currentLayers.temporalLayer}` : '-']);
        })
        .catch(() => [])) as [string, string][];
      for (const [id, l] of layers) {
        if (last.get(id) !== l) timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${id}=${l}`);
        last.set(id, l);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return timeline;
    },
  };
}

/** Spatial layer switches in a timeline from sampleLayers (each one after the first reading of a peer). */
export function spatialSwitches(timeline: readonly string[]): number {
  const last = new Map<string, string>();
  let n = 0;
  for (const entry of timeline) {
    const m = /s (\S+)=(\d+|-)/.exec(entry);
    if (!m) continue;
    const prev = last.get(m[1]!);
    if (prev !== undefined && prev !== m[2]) n++;
    last.set(m[1]!, m[2]!);
  }
  return n;
}
