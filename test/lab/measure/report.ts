import type { Kind, StreamWindow } from './quality.js';
import type { GlassToGlassSummary } from './glassToGlass.js';
import type { SenderWindow } from './sender.js';

/*
 * Tables and figures for the lab report. Pure functions over quality.ts's rows.
 *
 * API (stable; test/lab's runner calls these):
 *
 *   formatTable(title, rows, opts?: {kinds?: Kind[]}): string
 *       One table for a condition: a line per receiver × remote stream (fps, freezes, freeze
 *       ms, nack, pli, jitter-buffer ms per frame, the client's jitter buffer target for relayed
 *       media, width, layer spatial/temporal, loss %, audio concealed %, kbps).
 *   freezeMsPerMin(rows): FreezeFigure
 *       Total video freeze duration per receiver-minute, for each receiver and the worst one.
 *       `rows` are one window (all rows of a receiver share its length).
 *   formatGlassToGlass(label, summary): string            one line: p50/p95 and read counts
 *   formatSenderTable(title, windows): string
 *       A line per sender × simulcast layer: camera fps, encoded fps, width, kbps, retransmitted
 *       kbps, NACKs and PLIs received, encode ms per frame, and what limited the encoder.
 *   textTable(headers, lines, align?): string               the plain column formatter
 */

export interface FreezeFigure {
  /** The worst receiver's freeze ms per minute (0 with no video rows). */
  freezeMsPerMin: number;
  worstReceiver: string | null;
  perReceiver: Record<string, number>;
}

export function freezeMsPerMin(rows: readonly StreamWindow[]): FreezeFigure {
  const ms = new Map<string, number>();
  const seconds = new Map<string, number>();
  for (const r of rows) {
    if (r.kind !== 'video') continue;
    ms.set(r.receiver, (ms.get(r.receiver) ?? 0) + r.freezeMs);
    seconds.set(r.receiver, Math.max(seconds.get(r.receiver) ?? 0, r.seconds));
  }
  const perReceiver: Record<string, number> = {};
  let worst: string | null = null;
  for (const [receiver, total] of [...ms].sort(([a], [b]) => a.localeCompare(b))) {
    const minutes = seconds.get(receiver)! / 60;
    perReceiver[receiver] = minutes > 0 ? total / minutes : 0;
    if (worst === null || perReceiver[receiver]! > perReceiver[worst]!) worst = receiver;
  }
  return { freezeMsPerMin: worst === null ? 0 : perReceiver[worst]!, worstReceiver: worst, perReceiver };
}

/** Columns padded to their widest cell; `align` per column, 'r' (default for all but the first two) or 'l'. */
export function textTable(headers: readonly string[], lines: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const side = (i: number): 'l' | 'r' => align?.[i] ?? (i < 2 ? 'l' : 'r');
  const fmt = (cells: readonly string[]): string =>
    cells.map((c, i) => (side(i) === 'l' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [fmt(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

const num = (v: number | null, digits = 0): string => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits));

export function formatTable(title: string, rows: readonly StreamWindow[], opts: { kinds?: readonly Kind[] } = {}): string {
  const kinds = opts.kinds ?? ['video', 'audio'];
  const shown = rows
    .filter((r) => kinds.includes(r.kind))
    .sort((a, b) => a.receiver.localeCompare(b.receiver) || a.kind.localeCompare(b.kind) * -1 || a.peerName.localeCompare(b.peerName));
  const headers = ['receiver', 'from', 'kind', 'fps', 'freezes', 'freeze ms', 'nack', 'pli', 'jb ms/f', 'jb target', 'width', 'layer', 'loss %', 'conceal %', 'kbps'];
  const lines = shown.map((r) => [
    r.receiver,
    r.peerName + (r.gone ? ' (gone)' : r.restarted ? ' (new)' : ''),
    r.kind,
    num(r.fps, 1),
    r.kind === 'video' ? String(r.freezeCount) : '-',
    r.kind === 'video' ? num(r.freezeMs) : '-',
    String(r.nackCount),
    r.kind === 'video' ? String(r.pliCount) : '-',
    num(r.jbMsPerFrame, 1),
    num(r.jbTargetMs ?? null),
    r.kind === 'video' ? String(r.frameWidth) : '-',
    r.spatialLayer === null ? '-' : `${r.spatialLayer}/${r.temporalLayer ?? '-'}`,
    num(r.lossFraction * 100, 2),
    r.kind === 'audio' ? num((r.concealedFraction ?? 0) * 100, 2) : '-',
    num((r.bytesPerS * 8) / 1000),
  ]);
  const align: ('l' | 'r')[] = headers.map((_, i) => (i < 3 ? 'l' : 'r'));
  const freeze = freezeMsPerMin(rows);
  const seconds = Math.max(0, ...rows.map((r) => r.seconds));
  const foot = `freezeMsPerMin ${num(freeze.freezeMsPerMin)} (worst receiver ${freeze.worstReceiver ?? '-'}; window ${num(seconds, 1)} s)`;
  return [`== ${title}`, textTable(headers, lines, align), foot].join('\n');
}

export function formatGlassToGlass(label: string, s: GlassToGlassSummary): string {
  return `glass-to-glass ${label}: p50 ${num(s.p50Ms)} ms, p95 ${num(s.p95Ms)} ms (${s.goodReads} good reads, ${s.badReads} bad)`;
}

export function formatSenderTable(title: string, windows: readonly SenderWindow[]): string {
  const headers = ['sender', 'rid', 'src fps', 'fps', 'width', 'kbps', 'rtx kbps', 'nack', 'pli', 'enc ms/f', 'limited by'];
  const lines = [...windows]
    .sort((a, b) => a.sender.localeCompare(b.sender))
    .flatMap((w) => w.layers.map((l) => {
      const limits = [l.cpuLimitedFraction > 0 ? `cpu ${num(l.cpuLimitedFraction * 100)}%` : '', l.bandwidthLimitedFraction > 0 ? `bw ${num(l.bandwidthLimitedFraction * 100)}%` : ''].filter(Boolean);
      return [
        w.sender, l.rid, num(w.sourceFps, 1), num(l.fps, 1), String(l.frameWidth), num(l.kbps), num(l.retransmitKbps), String(l.nackCount), String(l.pliCount),
        num(l.encodeMsPerFrame, 1), `${l.qualityLimitationReason || '-'}${limits.length ? ` (${limits.join(', ')})` : ''}`,
      ];
    }));
  const align: ('l' | 'r')[] = headers.map((_, i) => (i < 2 || i === headers.length - 1 ? 'l' : 'r'));
  return [`== ${title} (senders)`, textTable(headers, lines, align)].join('\n');
}
