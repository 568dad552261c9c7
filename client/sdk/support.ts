import type { types } from 'mediasoup-client';
import { OctomeshError, REQUEST_TIMEOUT_MS } from './Signaling.js';
import type { JoinOptions, LocalMedia } from './types.js';

// What the client needs from outside the signaling socket: where to connect, and the local
// camera and mic.

/** Asks the geo-router which node to use; returns that node's WebSocket URL. */
export async function fetchRoute(opts: JoinOptions, region: string | undefined): Promise<string> {
  const url = new URL('/api/route', opts.apiBase ?? location.href);
  url.searchParams.set('room', opts.room);
  if (region) url.searchParams.set('region', region);
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
  let res: Response;
  let body: unknown;
  try {
    res = await fetch(url, { signal: ctl.signal, cache: 'no-store' });
    body = await res.json().catch(() => null);
  } catch (err) {
    throw new OctomeshError(ctl.signal.aborted ? 'timeout' : 'network', `route: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
  const b = (body ?? {}) as { wsUrl?: unknown; error?: { code?: string; message?: string } | string };
  if (!res.ok || typeof b.wsUrl !== 'string') {
    const e = typeof b.error === 'object' ? b.error : { message: b.error };
    throw new OctomeshError(e?.code ?? (res.status === 400 ? 'bad_request' : 'unavailable'), `route: ${e?.message ?? `HTTP ${res.status}`}`);
  }
  const ws = new URL(b.wsUrl, url);
  if (ws.protocol === 'http:') ws.protocol = 'ws:';
  else if (ws.protocol === 'https:') ws.protocol = 'wss:';
  return ws.href;
}

// Measured with mediasoup 3.27.1: while abs-capture-time is negotiated, Chromium's simulcast
// consumers stay on spatial layer 0. The device loads capabilities without it, so it is neither
// sent nor put in the rtpCapabilities the server consumes with (harmless if the server strips it).
export function withoutAbsCaptureTime(caps: types.RtpCapabilities): types.RtpCapabilities {
  if (!caps.headerExtensions) return caps;
  return { ...caps, headerExtensions: caps.headerExtensions.filter((h) => !h.uri.includes('abs-capture-time')) };
}

/** Never rejects: a missing or refused camera or mic just means nothing is sent for it. */
export async function getLocalMedia(audio: boolean, video: boolean): Promise<LocalMedia> {
  const none: LocalMedia = { audio: null, video: null };
  const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
  if (!md?.getUserMedia || (!audio && !video)) return none; // e.g. not a secure context
  const videoConstraints = { width: 1280, height: 720 };
  const pick = (stream: MediaStream): LocalMedia => ({ audio: stream.getAudioTracks()[0] ?? null, video: stream.getVideoTracks()[0] ?? null });
  try {
    return pick(await md.getUserMedia({ audio, video: video && videoConstraints }));
  } catch (err) {
    console.warn('octomesh: camera+mic unavailable, trying each alone', err);
  }
  const one = async (c: MediaStreamConstraints): Promise<LocalMedia> => md.getUserMedia(c).then(pick, () => none);
  const a = audio ? await one({ audio: true }) : none;
  const v = video ? await one({ video: videoConstraints }) : none;
  return { audio: a.audio, video: v.video };
}
