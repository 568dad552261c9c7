import type { BrowserContext, Page } from 'playwright-core';
import { percentile } from '../../../bench/stats.js';

/*
 * Glass-to-glass delay: the sender's camera is replaced by frames that carry the wall clock
 * (Date.now(), low 32 bits) as a grid of big black/white blocks with a CRC-16 (I420 frames
 * written into a MediaStreamTrackGenerator on Chromium, a canvas capture elsewhere); the
 * receiver draws each remote <video> to a small canvas (at most every `intervalMs`, on a
 * presented frame when requestVideoFrameCallback is available), reads the blocks back and
 * records now − stamp. All browsers run on one machine, so one clock.
 * Blocks are 1/8 of the width by 1/8 of the height: 40×22 px on a 320×180 simulcast layer,
 * above VP8's 16×16 macroblocks. A read with a grey (ambiguous) block or a bad CRC is counted
 * as bad and dropped. The bottom quarter of the frame moves (bars changing colour, optional
 * noise), so the encoder spends real bitrate (~650 kbps on the 1280 layer) as it would on a face.
 *
 * API (stable; test/lab's runner calls these):
 *
 *   stampCameraScript(opts?: StampCameraOptions): string
 *       Source for page.addInitScript({content}) / context.addInitScript({content}): the page's
 *       getUserMedia({video}) gets the stamped track (audio still from the real/fake mic).
 *   installStampCamera(target: Page | BrowserContext, opts?): Promise<void>   (the same, applied)
 *   startReader(page, opts?: {intervalMs?: number}): Promise<void>
 *       Starts reading every remote video the app shows (idempotent; follows new consumers).
 *   readGlassToGlass(page, opts?: {since?: number, clear?: boolean}): Promise<GlassToGlassReads>
 *       Reads recorded so far (at ≥ since, a Date.now() value); `clear` empties the page's log.
 *   summarize(reads, opts?: {peer?: string}): GlassToGlassSummary        (pure)
 *       p50/p95/mean of the good reads (optionally of one sender), good and bad counts.
 *   stampBits(ms) / bitsToStamp(bits, nowMs) / lumaToBits(lumas)        (pure; the code)
 *
 * E.g. the eu-west → ap-northeast figure: installStampCamera(context) before the pages load,
 * startReader(apPage) once joined, then
 * summarize(await readGlassToGlass(apPage, {since}), {peer: 'user-eu-west'}).p50Ms.
 * What it measures: from the moment a frame is made (no camera capture latency) through
 * encode, network, SFU(s), jitter buffer and decode to the frame being presented (read in
 * requestVideoFrameCallback; on a 100 ms timer where that API is missing, which adds up to one
 * timer period). Chromium's fake microphone still sends audio.
 */

export interface StampCameraOptions {
  /**
   * Frame size; 1280×720 (default, the app's camera constraint) gives Chromium three simulcast
   * layers; 640×360 costs a quarter of the pixels (Chromium may then send fewer layers).
   */
  width?: number;
  height?: number;
  fps?: number;
  /**
   * 'frames' writes I420 frames into a MediaStreamTrackGenerator (Chromium; cheap), 'canvas'
   * paints a canvas and captures it (anywhere; its readback costs a loaded 2-core machine
   * frames); 'auto' (default) takes frames where the API exists.
   */
  source?: 'auto' | 'frames' | 'canvas';
  /**
   * Squares of random colour painted per frame below the code (default 0), on top of the
   * moving bars: texture the encoder must spend bits on. Many more make Chromium's encoder
   * drop frames to hold the simulcast bitrates (40 halved the frame rate here).
   */
  noise?: number;
}

export interface GlassToGlassRead {
  /** The sender's display name (the app's peer list), and its region. */
  peer: string;
  peerRegion: string | null;
  /** Date.now() in the receiving page at the read. */
  at: number;
  delayMs: number;
  /** Size of the decoded frame read (the layer that reached this receiver). */
  width: number;
  /** Read on a presented frame (requestVideoFrameCallback) rather than on the fallback timer. */
  onFrame: boolean;
}

export interface GlassToGlassReads {
  receiver: string;
  good: GlassToGlassRead[];
  bad: { peer: string; at: number; reason: 'grey' | 'crc' }[];
  /** True when reads came on presented frames (requestVideoFrameCallback), false on a timer. */
  onPresentedFrames: boolean;
}

export interface GlassToGlassSummary {
  goodReads: number;
  badReads: number;
  p50Ms: number | null;
  p95Ms: number | null;
  meanMs: number | null;
}

// ---- the code: 32 bits of the clock + CRC-16/CCITT-FALSE, 48 blocks (8 columns × 6 rows) ----

export const COLS = 8;
export const ROWS = 6;
/** The code takes the top ROWS/8 of the frame; the rest is motion. */
export const CODE_ROWS_OF_8 = ROWS;

export function crc16(bytes: readonly number[]): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= (b & 0xff) << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** 48 bits, most significant first: the low 32 bits of `ms`, then their CRC-16. */
export function stampBits(ms: number): number[] {
  const v = ms % 4294967296;
  const bytes = [Math.floor(v / 16777216) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  const crc = crc16(bytes);
  const bits: number[] = [];
  for (const b of bytes) for (let i = 7; i >= 0; i--) bits.push((b >> i) & 1);
  for (let i = 15; i >= 0; i--) bits.push((crc >> i) & 1);
  return bits;
}

/** The full Date.now() value nearest `nowMs` whose low 32 bits the code carries; null if the CRC fails. */
export function bitsToStamp(bits: readonly number[], nowMs: number): number | null {
  if (bits.length !== 48) return null;
  const bytes = [0, 0, 0, 0];
  for (let i = 0; i < 32; i++) bytes[i >> 3] = (bytes[i >> 3]! << 1) | bits[i]!;
  let crc = 0;
  for (let i = 32; i < 48; i++) crc = (crc << 1) | bits[i]!;
  if (crc16(bytes) !== crc) return null;
  const v = bytes[0]! * 16777216 + bytes[1]! * 65536 + bytes[2]! * 256 + bytes[3]!;
  let delta = (nowMs % 4294967296) - v;
  if (delta < -2147483648) delta += 4294967296;
  if (delta > 2147483648) delta -= 4294967296;
  return nowMs - delta;
}

/** Block lumas (0..255) to bits; null when any block is grey (a frame in transition or smeared). */
export function lumaToBits(lumas: readonly number[]): number[] | null {
  const bits: number[] = [];
  for (const l of lumas) {
    if (l >= 150) bits.push(0); // white is 0: an all-black frame (no video yet) fails the CRC
    else if (l <= 105) bits.push(1);
    else return null;
  }
  return bits;
}

// ---- what runs in the page ----

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Defines window.__octomeshG2G once: the stamped camera and the reader. */
function pageLib(): void {
  const w = globalThis as any;
  if (w.__octomeshG2G) return;
  const COLS_ = 8;
  const ROWS_ = 6;
  const g: any = { good: [], bad: [], onPresentedFrames: false, camera: null, reading: false };
  w.__octomeshG2G = g;

  /**
   * I420 frames written straight into a MediaStreamTrackGenerator (Chromium): no canvas
   * readback and no colour conversion, and only the blocks whose bit changed are rewritten,
   * so a 1280×720 camera costs the page little more than Chromium's own fake camera.
   */
  const framesTrack = (W: number, H: number, fps: number, noise: number): any => {
    const gen = new w.MediaStreamTrackGenerator({ kind: 'video' });
    const writer = gen.writable.getWriter();
    const buf = new Uint8Array((W * H * 3) / 2);
    const U = W * H;
    const V = U + (W / 2) * (H / 2);
    buf.fill(128, U); // neutral chroma
    const rect = (x0: number, y0: number, x1: number, y1: number, y: number, u = 128, v = 128): void => {
      x0 = Math.max(0, Math.round(x0)) & ~1;
      y0 = Math.max(0, Math.round(y0)) & ~1;
      x1 = Math.min(W, Math.round(x1)) & ~1;
      y1 = Math.min(H, Math.round(y1)) & ~1;
      if (x1 <= x0 || y1 <= y0) return;
      for (let r = y0; r < y1; r++) buf.fill(y, r * W + x0, r * W + x1);
      for (let r = y0 / 2; r < y1 / 2; r++) {
        buf.fill(u, U + r * (W / 2) + x0 / 2, U + r * (W / 2) + x1 / 2);
        buf.fill(v, V + r * (W / 2) + x0 / 2, V + r * (W / 2) + x1 / 2);
      }
    };
    const cw = W / COLS_;
    const ch = H / 8;
    const codeH = ch * ROWS_;
    const bandH = (H - codeH) / 4;
    const barW = W / 6;
    let prev: number[] = [];
    const barX: number[] = [0, 0, 0, 0];
    let frame = 0;
    let busy = false;
    rect(0, codeH, W, H, 90, 110, 150);
    const paint = (): void => {
      if (busy) return; // the track's sink is behind: drop a frame rather than queue them
      const bits = stampBits(Date.now());
      for (let i = 0; i < bits.length; i++) {
        if (bits[i] === prev[i]) continue;
        const cx = i % COLS_;
        const cy = Math.floor(i / COLS_);
        rect(cx * cw, cy * ch, (cx + 1) * cw, (cy + 1) * ch, bits[i] ? 16 : 235);
      }
      prev = bits;
      for (let b = 0; b < 4; b++) {
        const y0 = codeH + b * bandH;
        rect(barX[b]!, y0, barX[b]! + barW, y0 + bandH, 90, 110, 150);
        barX[b] = ((frame * (6 + b * 5)) % (W + barW)) - barW;
        rect(barX[b]!, y0, barX[b]! + barW, y0 + bandH, 60 + b * 45, (frame * 3 + b * 60) & 255, 255 - ((frame * 2) & 255));
      }
      const sq = Math.max(4, Math.round(H / 45));
      for (let n = 0; n < noise; n++) {
        const x = Math.random() * (W - sq);
        const y = codeH + Math.random() * (H - codeH - sq);
        rect(x, y, x + sq, y + sq, Math.random() * 256, Math.random() * 256, Math.random() * 256);
      }
      frame++;
      const vf = new w.VideoFrame(buf, { format: 'I420', codedWidth: W, codedHeight: H, timestamp: Math.round(performance.now() * 1000) });
      busy = true;
      writer.write(vf).then(() => { busy = false; }, () => { busy = false; vf.close?.(); });
    };
    paint();
    setInterval(paint, 1000 / fps);
    return gen;
  };

  /** The fallback where MediaStreamTrackGenerator is missing: a canvas capture stream. */
  const canvasTrack = (W: number, H: number, fps: number, noise: number): any => {
    const canvas = w.document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    const ctx = canvas.getContext('2d', { alpha: false });
    const cw = W / COLS_;
    const ch = H / 8;
    const codeH = ch * ROWS_;
    let frame = 0;
    const paint = (): void => {
      const bits = stampBits(Date.now());
      for (let i = 0; i < bits.length; i++) {
        ctx.fillStyle = bits[i] ? '#000' : '#fff';
        // Whole pixels, so neighbouring blocks never blend at their border.
        const x0 = Math.round((i % COLS_) * cw);
        const y0 = Math.round(Math.floor(i / COLS_) * ch);
        ctx.fillRect(x0, y0, Math.round(((i % COLS_) + 1) * cw) - x0, Math.round((Math.floor(i / COLS_) + 1) * ch) - y0);
      }
      ctx.fillStyle = `hsl(${(frame * 3) % 360} 60% 45%)`;
      ctx.fillRect(0, codeH, W, H - codeH);
      for (let b = 0; b < 4; b++) {
        ctx.fillStyle = `hsl(${(b * 90 + frame) % 360} 80% ${30 + b * 12}%)`;
        const x = ((frame * (4 + b * 3)) % (W + W / 6)) - W / 12;
        ctx.fillRect(x, codeH + (b * (H - codeH)) / 4, W / 6, (H - codeH) / 4);
      }
      const sq = Math.max(4, Math.round(H / 45));
      for (let n = 0; n < noise; n++) {
        const v = Math.floor(Math.random() * 256);
        ctx.fillStyle = `rgb(${v},${255 - v},${(v * 7) & 255})`;
        ctx.fillRect(Math.random() * W, codeH + Math.random() * (H - codeH - sq), sq, sq);
      }
      frame++;
    };
    paint();
    setInterval(paint, 1000 / fps);
    return canvas.captureStream(fps).getVideoTracks()[0];
  };

  g.installCamera = (opts: { width: number; height: number; fps: number; noise: number; source: 'auto' | 'frames' | 'canvas' }): void => {
    const md = w.navigator?.mediaDevices;
    if (!md?.getUserMedia || g.cameraInstalled) return; // not a secure context: nothing to replace
    g.cameraInstalled = true;
    const original = md.getUserMedia.bind(md);
    const track = (): any => {
      if (!g.camera) {
        const frames = opts.source === 'frames' || (opts.source === 'auto' && typeof w.MediaStreamTrackGenerator === 'function' && typeof w.VideoFrame === 'function');
        g.cameraSource = frames ? 'frames' : 'canvas';
        g.camera = frames ? framesTrack(opts.width, opts.height, opts.fps, opts.noise) : canvasTrack(opts.width, opts.height, opts.fps, opts.noise);
      }
      return g.camera.clone();
    };
    md.getUserMedia = async (c: any): Promise<any> => {
      if (!c?.video) return original(c);
      const stream = c.audio ? await original({ audio: c.audio }) : new w.MediaStream();
      stream.addTrack(track());
      return stream;
    };
  };

  g.startReader = (intervalMs: number): void => {
    if (g.reading) return;
    g.reading = true;
    const canvas = w.document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 90;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const last = new WeakMap<object, number>(); // video -> performance.now() of its last read
    const lastFrame = new WeakMap<object, number>(); // video -> its last frame callback
    const hooked = new WeakSet<object>();
    const own = new Map<string, any>(); // track id -> a <video> of our own, if the app shows none
    const push = (list: any[], item: any): void => {
      list.push(item);
      if (list.length > 20_000) list.splice(0, list.length - 20_000);
    };
    const read = (video: any, consumer: any, onFrame: boolean): void => {
      const now = Date.now(); // before drawing: the frame is on the glass now, not after the copy
      last.set(video, performance.now());
      if (video.readyState < 2 || !video.videoWidth) return;
      const hook = w.__octomesh;
      const peer = hook?.client?.peers?.find((p: any) => p.peerId === consumer.peerId);
      const name = peer?.displayName ?? consumer.peerId;
      ctx.drawImage(video, 0, 0, 160, 90);
      const data = ctx.getImageData(0, 0, 160, 90).data;
      const lumas: number[] = [];
      const bw = 160 / COLS_;
      const bh = 90 / 8;
      for (let i = 0; i < COLS_ * ROWS_; i++) {
        // The middle half of the block: its edges ring after compression and scaling.
        const x0 = Math.floor((i % COLS_) * bw + bw / 4);
        const y0 = Math.floor(Math.floor(i / COLS_) * bh + bh / 4);
        const x1 = Math.ceil((i % COLS_) * bw + (3 * bw) / 4);
        const y1 = Math.ceil(Math.floor(i / COLS_) * bh + (3 * bh) / 4);
        let sum = 0;
        let count = 0;
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) {
            const o = (y * 160 + x) * 4;
            sum += 0.299 * data[o] + 0.587 * data[o + 1] + 0.114 * data[o + 2];
            count++;
          }
        }
        lumas.push(sum / count);
      }
      const bits = lumaToBits(lumas);
      if (!bits) return push(g.bad, { peer: name, at: now, reason: 'grey' });
      const stamp = bitsToStamp(bits, now);
      if (stamp === null) return push(g.bad, { peer: name, at: now, reason: 'crc' });
      push(g.good, { peer: name, peerRegion: peer?.region ?? null, at: now, delayMs: now - stamp, width: video.videoWidth, onFrame });
    };
    const videoFor = (consumer: any): any => {
      const id = consumer.track.id;
      for (const v of w.document.querySelectorAll('video')) {
        if (v.srcObject?.getVideoTracks?.().some((t: any) => t.id === id)) return v;
      }
      let v = own.get(id);
      if (!v) {
        v = w.document.createElement('video');
        v.muted = true;
        v.autoplay = true;
        v.playsInline = true;
        v.style.cssText = 'position:fixed;left:0;top:0;width:160px;height:90px;opacity:0.01;pointer-events:none';
        v.srcObject = new w.MediaStream([consumer.track]);
        w.document.body.append(v);
        v.play().catch(() => undefined);
        own.set(id, v);
      }
      return v;
    };
    const due = (video: any): boolean => performance.now() - (last.get(video) ?? -Infinity) >= intervalMs;
    // The consumer a <video> shows now: an app may give the same element another track later.
    const consumerOf = (video: any): any => {
      const ids = new Set((video.srcObject?.getVideoTracks?.() ?? []).map((t: any) => t.id));
      return (w.__octomesh?.client?.consumers ?? []).find((c: any) => c.kind === 'video' && ids.has(c.track.id));
    };
    const hookFrames = (video: any): void => {
      if (hooked.has(video) || typeof video.requestVideoFrameCallback !== 'function') return;
      hooked.add(video);
      const onFrame = (): void => {
        if (!video.isConnected && ![...own.values()].includes(video)) return; // gone: stop the loop
        g.onPresentedFrames = true;
        lastFrame.set(video, performance.now());
        if (due(video)) {
          const consumer = consumerOf(video);
          if (consumer) read(video, consumer, true);
        }
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    };
    // The timer finds new consumers, and reads on its own where no frame callbacks come.
    setInterval(() => {
      const consumers = w.__octomesh?.client?.consumers ?? [];
      for (const c of consumers) {
        if (c.kind !== 'video' || c.track.readyState !== 'live') continue;
        const video = videoFor(c);
        hookFrames(video);
        const silent = performance.now() - (lastFrame.get(video) ?? -Infinity) > 3 * intervalMs;
        if (silent && due(video)) read(video, c, false);
      }
      for (const [id, v] of own) {
        if (consumers.some((c: any) => c.track.id === id)) continue;
        v.srcObject = null;
        v.remove();
        own.delete(id);
      }
    }, intervalMs);
  };
}

/** Source of the in-page library: the pure code functions plus pageLib, run once. */
function pageSource(): string {
  return [crc16, stampBits, bitsToStamp, lumaToBits, pageLib].map((f) => f.toString()).join('\n') + '\npageLib();\n';
}

export function stampCameraScript(opts: StampCameraOptions = {}): string {
  const o = { width: opts.width ?? 1280, height: opts.height ?? 720, fps: opts.fps ?? 30, noise: opts.noise ?? 0, source: opts.source ?? 'auto' };
  return `(() => {\n${pageSource()}\nglobalThis.__octomeshG2G.installCamera(${JSON.stringify(o)});\n})();`;
}

/** Every page of `target` opened from now on sends the stamped frames as its camera. */
export async function installStampCamera(target: Page | BrowserContext, opts: StampCameraOptions = {}): Promise<void> {
  await target.addInitScript({ content: stampCameraScript(opts) });
}

export async function startReader(page: Page, opts: { intervalMs?: number } = {}): Promise<void> {
  const intervalMs = opts.intervalMs ?? 100;
  await page.evaluate(`(() => {\n${pageSource()}\nglobalThis.__octomeshG2G.startReader(${JSON.stringify(intervalMs)});\n})()`);
}

export async function readGlassToGlass(page: Page, opts: { since?: number; clear?: boolean } = {}): Promise<GlassToGlassReads> {
  return (await page.evaluate(
    ({ since, clear }) => {
      const w = globalThis as any;
      const g = w.__octomeshG2G ?? { good: [], bad: [], onPresentedFrames: false };
      const receiver = new URL(w.location.href).searchParams.get('name') ?? '';
      const out = {
        receiver,
        good: g.good.filter((r: any) => r.at >= since),
        bad: g.bad.filter((r: any) => r.at >= since),
        onPresentedFrames: g.onPresentedFrames,
      };
      if (clear) {
        g.good.length = 0;
        g.bad.length = 0;
      }
      return out;
    },
    { since: opts.since ?? 0, clear: opts.clear ?? false },
  )) as GlassToGlassReads;
}

export function summarize(reads: GlassToGlassReads | readonly GlassToGlassReads[], opts: { peer?: string } = {}): GlassToGlassSummary {
  const all = Array.isArray(reads) ? (reads as readonly GlassToGlassReads[]) : [reads as GlassToGlassReads];
  const mine = <T extends { peer: string }>(r: T): boolean => opts.peer === undefined || r.peer === opts.peer;
  const delays = all.flatMap((r) => r.good.filter(mine).map((x) => x.delayMs));
  const bad = all.reduce((n, r) => n + r.bad.filter(mine).length, 0);
  const p = (q: number): number | null => (delays.length ? percentile(delays, q) : null);
  return {
    goodReads: delays.length,
    badReads: bad,
    p50Ms: p(50),
    p95Ms: p(95),
    meanMs: delays.length ? delays.reduce((a, b) => a + b, 0) / delays.length : null,
  };
}
