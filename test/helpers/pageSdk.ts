import type { Page } from 'playwright-core';
import { eventually, sleep } from './node.js';

// Reaching the SDK of a page that runs the web app (client/app/main.ts sets window.__octomesh,
// whose `client` is the OctomeshClient). This file is compiled without DOM types, and functions
// are sent to the page as source: they must not close over anything here; `arg` goes as JSON.

export interface Layers { spatialLayer: number; temporalLayer: number | null }
export interface ConsumerView { paused: boolean; view: { width: number; height: number } | null }

/** The parts of the page's OctomeshClient the browser tests use. */
export interface PageClient {
  state: string;
  self: { peerId: string } | null;
  activeSpeaker: string | null;
  forwardedPeers: string[] | null;
  consumers: { consumerId: string; peerId: string; kind: string; track: { id: string }; currentLayers: Layers | null }[];
  viewState(consumerId: string): { mode: string; told: ConsumerView; wanted: ConsumerView; pending: boolean; requests: number } | null;
  dynacastState(): { demand: number | null; active: boolean[] | null } | null;
  setView(view: { pinned: string[]; page: string[] }): Promise<void>;
  /** Set by takeOverView: the SDK's setView, which the app no longer reaches. */
  testView?(view: { pinned: string[]; page: string[] }): Promise<void>;
  isForwarded(peerId: string): boolean;
  getRecvStats(): Promise<{ forEach(fn: (s: Record<string, unknown>) => void): void } | null>;
  getSendStats(): Promise<{ forEach(fn: (s: Record<string, unknown>) => void): void } | null>;
  setConsumerPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void>;
  sendChat(text: string): Promise<void>;
  leave(): Promise<void>;
}

/** The app hook's sums over every inbound RTP stream (client/app/hook.ts, inboundStats). */
export interface InboundSums { audio: { packets: number; bytes: number }; video: { framesDecoded: number; bytes: number; frameWidth: number } }

/** The candidate pair ICE selected ('relay' on the local side: through TURN). */
export interface IceRoute { local: string; remote: string; relayProtocol: string | null }

/** The app's own test hook (client/app/hook.ts), the parts the browser tests read. */
export interface PageHook {
  state: string;
  region: string | null;
  peerId: string | null;
  client: PageClient;
  peers(): { peerId: string; displayName: string; region: string }[];
  consumers(): { consumerId: string; kind: string; currentLayers: Layers | null }[];
  chatLog: { text: string; displayName: string }[];
  inboundStats(): Promise<InboundSums>;
  iceRoutes(): Promise<{ send: IceRoute | null; recv: IceRoute | null }>;
}

export const inPage = <T, A = undefined>(page: Page, fn: (h: PageHook, arg: A) => T | Promise<T>, arg?: A): Promise<T> =>
  page.evaluate(`window.__octomesh ? (${fn.toString()})(window.__octomesh, ${JSON.stringify(arg ?? null)}) : undefined`) as Promise<T>;

/**
 * From now on the page's view (setView) is the test's: the app declares its own again on every
 * layout pass (a tile's size, the speaker order), which would replace a view the test set at any
 * moment. The app's calls are dropped; the test declares through `h.client.testView`.
 */
export async function takeOverView(page: Page): Promise<void> {
  await inPage(page, (h) => {
    const c = h.client;
    if (c.testView) return;
    c.testView = c.setView.bind(c);
    c.setView = async () => undefined;
  });
}

export async function waitInPage<A>(page: Page, what: string, fn: (h: PageHook, arg: A) => boolean | Promise<boolean>, timeoutMs = 30_000, arg?: A): Promise<void> {
  await eventually(async () => Boolean(await inPage(page, fn, arg).catch(() => false)), what, timeoutMs);
}

/**
 * Waits (with a bound) until `page` has decoded more video frames and received more audio
 * packets than when called: media keeps arriving, not just arrived once.
 */
export async function untilMediaKeepsArriving(page: Page, timeoutMs = 15_000): Promise<void> {
  const sums = (): Promise<InboundSums> => inPage(page, (h) => h.inboundStats());
  const first = await sums();
  let last = first;
  await eventually(async () => {
    last = await sums();
    return last.video.framesDecoded > first.video.framesDecoded && last.audio.packets > first.audio.packets && last.audio.bytes > 0;
  }, 'video frames decoded and audio packets received keep rising', timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message} (first ${JSON.stringify(first)}, last ${JSON.stringify(last)})`);
  });
}

/** Per remote video track (by track id): inbound-rtp counters of the receiving PeerConnection. */
export interface InboundVideo { frames: number; bytes: number; width: number; height: number }

export function inboundVideo(page: Page): Promise<Record<string, InboundVideo>> {
  return inPage(page, async (h) => {
    const out: Record<string, { frames: number; bytes: number; width: number; height: number }> = {};
    (await h.client.getRecvStats())?.forEach((s) => {
      if (s['type'] !== 'inbound-rtp' || s['kind'] !== 'video') return;
      out[String(s['trackIdentifier'])] = {
        frames: Number(s['framesDecoded'] ?? 0), bytes: Number(s['bytesReceived'] ?? 0),
        width: Number(s['frameWidth'] ?? 0), height: Number(s['frameHeight'] ?? 0),
      };
    });
    return out;
  });
}

/** How long a flowing video must go without a decoded frame to count as stopped: several frames even at a low layer's frame rate. */
const STOPPED_AFTER_MS = 500;

/**
 * Waits (with a bound) until none of `trackIds` decodes a frame for STOPPED_AFTER_MS: what was
 * in flight when their consumers were paused on the server has arrived and been decoded.
 */
export async function untilFramesStop(page: Page, trackIds: readonly string[], what: string, timeoutMs = 10_000): Promise<void> {
  const frames = async (): Promise<string> => {
    const v = await inboundVideo(page);
    return JSON.stringify(trackIds.map((t) => v[t]?.frames ?? 0));
  };
  await eventually(async () => {
    const before = await frames();
    // A sampling interval: a paused stream just stops, with no event for it in the page.
    await sleep(STOPPED_AFTER_MS);
    return (await frames()) === before;
  }, what, timeoutMs);
}

/** The publisher's video encodings as its outbound-rtp stats report them, by rid. */
export interface OutboundEncoding { rid: string; active: boolean; bytes: number; width: number; height: number }

export function outboundVideo(page: Page): Promise<OutboundEncoding[]> {
  return inPage(page, async (h) => {
    const out: { rid: string; active: boolean; bytes: number; width: number; height: number }[] = [];
    (await h.client.getSendStats())?.forEach((s) => {
      if (s['type'] !== 'outbound-rtp' || s['kind'] !== 'video') return;
      out.push({
        rid: String(s['rid'] ?? ''), active: s['active'] !== false, bytes: Number(s['bytesSent'] ?? 0),
        width: Number(s['frameWidth'] ?? 0), height: Number(s['frameHeight'] ?? 0),
      });
    });
    return out.sort((a, b) => a.rid.localeCompare(b.rid));
  });
}

/**
 * Places the <video> that draws `trackId` at a fixed spot and size (CSS px) on the page, over
 * whatever layout the app has; top beyond the viewport puts it off screen. Found by its track,
 * not by the app's markup.
 */
export function placeVideo(page: Page, trackId: string, box: { top: number; width: number; height: number }): Promise<boolean> {
  return inPage(page, (_h, a) => {
    const videos = Array.from(document.querySelectorAll('video'));
    const v = videos.find((el) => el.srcObject instanceof MediaStream && el.srcObject.getVideoTracks().some((t) => t.id === a.trackId));
    if (!v) return false;
    Object.assign(v.style, { position: 'fixed', left: '0px', top: `${a.box.top}px`, width: `${a.box.width}px`, height: `${a.box.height}px`, zIndex: '1000' });
    return true;
  }, { trackId, box });
}

declare const document: { querySelectorAll(s: string): ArrayLike<{ srcObject: unknown; style: Record<string, string> }> };
declare class MediaStream { getVideoTracks(): { id: string }[] }
