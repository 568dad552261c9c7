import type { types } from 'mediasoup-client';
import { OctomeshError, REQUEST_TIMEOUT_MS } from './Signaling.js';
import type { Route, RouteTarget } from './RttProbe.js';
import type { JoinOptions, LocalMedia } from './types.js';

// What the client needs from outside the signaling socket: where to connect, and the local
// camera and mic.

/**
 * Asks the geo-router which node to use: its choice and the next-nearest alternatives, URLs
 * absolute. `avoid`: node ids this page just failed on, skipped by the router for this answer.
 */
export async function fetchRoute(opts: JoinOptions, region: string | undefined, avoid: readonly string[] = []): Promise<Route> {
  const url = new URL('/api/route', opts.apiBase ?? location.href);
  url.searchParams.set('room', opts.room);
  if (region) url.searchParams.set('region', region);
  if (avoid.length > 0) url.searchParams.set('avoid', avoid.join(','));
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
  // No geo-router here: the page came from a region node itself, which takes the join.
  if (res.status === 404) return { ...toTarget({ wsUrl: new URL('/ws', url).href }, url)!, alternatives: [] };
  const b = (body ?? {}) as { wsUrl?: unknown; alternatives?: unknown; error?: { code?: string; message?: string } | string };
  const chosen = res.ok ? toTarget(b, url) : undefined;
  if (!chosen) {
    const e = typeof b.error === 'object' ? b.error : { message: b.error };
    throw new OctomeshError(e?.code ?? (res.status === 400 ? 'bad_request' : 'unavailable'), `route: ${e?.message ?? `HTTP ${res.status}`}`);
  }
  // A lone region node answers without alternatives; a malformed one is skipped, not fatal.
  const alternatives = Array.isArray(b.alternatives) ? b.alternatives.map((a) => toTarget(a, url)).filter((a): a is RouteTarget => a !== undefined) : [];
  return { ...chosen, alternatives };
}

function toTarget(raw: unknown, base: URL): RouteTarget | undefined {
  const t = (raw ?? {}) as { region?: unknown; nodeId?: unknown; wsUrl?: unknown; distanceKm?: unknown };
  if (typeof t.wsUrl !== 'string') return undefined;
  let ws: URL;
  try {
    ws = new URL(t.wsUrl, base);
  } catch {
    return undefined;
  }
  if (ws.protocol === 'http:') ws.protocol = 'ws:';
  else if (ws.protocol === 'https:') ws.protocol = 'wss:';
  return {
    region: typeof t.region === 'string' ? t.region : '',
    nodeId: typeof t.nodeId === 'string' ? t.nodeId : '',
    wsUrl: ws.href,
    distanceKm: typeof t.distanceKm === 'number' ? t.distanceKm : null,
  };
}

// Measured with mediasoup 3.27.1: while abs-capture-time is negotiated, Chromium's simulcast
// consumers stay on spatial layer 0. The device loads capabilities without it, so it is neither
// sent nor put in the rtpCapabilities the server consumes with (harmless if the server strips it).
export function withoutAbsCaptureTime(caps: types.RtpCapabilities): types.RtpCapabilities {
  if (!caps.headerExtensions) return caps;
  return { ...caps, headerExtensions: caps.headerExtensions.filter((h) => !h.uri.includes('abs-capture-time')) };
}

/** One device, exactly that one (the person picked it); rejects if it cannot be opened. */
export async function openDevice(kind: 'audio' | 'video', deviceId: string): Promise<MediaStreamTrack> {
  const c: MediaTrackConstraints = { deviceId: { exact: deviceId }, ...(kind === 'video' ? { width: 1280, height: 720 } : {}) };
  const stream = await navigator.mediaDevices.getUserMedia(kind === 'video' ? { video: c } : { audio: c });
  const track = kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
  if (!track) throw new DOMException(`no ${kind} track`, 'NotFoundError');
  return track;
}

/** Never rejects: a missing or refused camera or mic just means nothing is sent for it. */
export async function getLocalMedia(audio: boolean, video: boolean, devices: Pick<JoinOptions, 'audioDeviceId' | 'videoDeviceId'> = {}): Promise<LocalMedia> {
  const none: LocalMedia = { audio: null, video: null };
  const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
  if (!md?.getUserMedia || (!audio && !video)) return none; // e.g. not a secure context
  // A chosen device is 'ideal', not 'exact': one unplugged since it was picked falls back to the default.
  const videoConstraints: MediaTrackConstraints = { width: 1280, height: 720, ...(devices.videoDeviceId ? { deviceId: devices.videoDeviceId } : {}) };
  const audioConstraints: MediaTrackConstraints | boolean = devices.audioDeviceId ? { deviceId: devices.audioDeviceId } : true;
  const pick = (stream: MediaStream): LocalMedia => ({ audio: stream.getAudioTracks()[0] ?? null, video: stream.getVideoTracks()[0] ?? null });
  try {
    return pick(await md.getUserMedia({ audio: audio && audioConstraints, video: video && videoConstraints }));
  } catch (err) {
    console.warn('octomesh: camera+mic unavailable, trying each alone', err);
  }
  const one = async (c: MediaStreamConstraints): Promise<LocalMedia> => md.getUserMedia(c).then(pick, () => none);
  const a = audio ? await one({ audio: audioConstraints }) : none;
  const v = video ? await one({ video: videoConstraints }) : none;
  return { audio: a.audio, video: v.video };
}

/** The camera's capture height (px), the top simulcast layer's, for produce's videoHeight; undefined when the browser does not say. */
export function captureHeight(track: MediaStreamTrack): number | undefined {
  const h = track.getSettings().height;
  return typeof h === 'number' && h >= 16 && h <= 4320 ? Math.round(h) : undefined;
}
