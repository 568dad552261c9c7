import type { types } from 'mediasoup-client';
import type { Signaling } from './Signaling.js';

// Screen sharing: what is captured and how it is sent. Text must stay sharp, so one full-size
// encoding at a few frames a second rather than simulcast: a scaled-down layer of a slide is
// unreadable, and a screen changes little between frames.

/** One encoding: 2 Mbit/s is enough for a 1080p desktop at 15 fps with the content hint 'detail'. */
export const SCREEN_ENCODINGS: types.RtpEncodingParameters[] = [{ maxBitrate: 2_000_000, maxFramerate: 15 }];

/**
 * Asks the browser for a screen, window or tab. Rejects when the person cancels the picker
 * (NotAllowedError) or the browser has no getDisplayMedia (e.g. not a secure context, most
 * phones).
 */
export async function captureScreen(): Promise<MediaStreamTrack> {
  const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
  if (!md?.getDisplayMedia) throw new DOMException('this browser cannot share its screen', 'NotSupportedError');
  const stream = await md.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 15 } }, audio: false });
  const track = stream.getVideoTracks()[0];
  if (!track) throw new DOMException('no video track in the capture', 'NotFoundError');
  // 'detail' makes the encoder keep the resolution and drop frames under congestion (text stays legible).
  track.contentHint = 'detail';
  return track;
}

/** Whether this browser can share its screen at all (the app hides the button otherwise). */
export function canShareScreen(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.mediaDevices?.getDisplayMedia === 'function';
}

interface Bound {
  readonly sig: Signaling;
  readonly send: types.Transport;
  producer: types.Producer | null;
}

/**
 * The screen being shared and its producer on the current session. The capture outlives a
 * rejoin (like the camera) and is sent again on the next session; its 'ended' (the browser's
 * own "Stop sharing") stops it for everyone. Owned by OctomeshClient.
 */
export class ScreenShare {
  #track: MediaStreamTrack | null = null;
  #bound: Bound | null = null;
  readonly #onChange: (track: MediaStreamTrack | null) => void;

  constructor(onChange: (track: MediaStreamTrack | null) => void) {
    this.#onChange = onChange;
  }

  get track(): MediaStreamTrack | null {
    return this.#track;
  }

  /** Asks the browser for a screen and sends it on the bound session. */
  async start(): Promise<MediaStreamTrack> {
    if (this.#track) return this.#track;
    const track = await captureScreen();
    if (this.#track) {
      track.stop(); // two clicks, two pickers: keep the first
      return this.#track;
    }
    this.#track = track;
    track.addEventListener('ended', () => void this.stop());
    this.#onChange(track);
    await this.#produce();
    return track;
  }

  /** Ends the capture and closes its producer (the others' consumers close with it). Idempotent. */
  async stop(): Promise<void> {
    const track = this.#track;
    if (!track) return;
    this.#track = null;
    track.stop();
    this.#onChange(null);
    const b = this.#bound;
    const producer = b?.producer;
    if (!b || !producer) return;
    b.producer = null;
    await closeProducer(b, producer);
  }

  /** A new session's send transport: a share in progress is sent on it. */
  bind(sig: Signaling, send: types.Transport): Promise<void> {
    this.#bound = { sig, send, producer: null };
    return this.#produce();
  }

  /** The session's producers went with its transport. Idempotent. */
  sessionEnded(): void {
    this.#bound = null;
  }

  async #produce(): Promise<void> {
    const b = this.#bound;
    const track = this.#track;
    if (!b || !track || track.readyState === 'ended' || b.send.closed || b.producer) return;
    const producer = await b.send.produce({
      track, stopTracks: false, encodings: SCREEN_ENCODINGS, appData: { source: 'screen', videoHeight: track.getSettings().height },
    });
    // Stopped, or the session ended, while the produce was in flight.
    if (this.#bound !== b || this.#track !== track) return closeProducer(b, producer);
    b.producer = producer;
  }
}

async function closeProducer(b: Bound, producer: types.Producer): Promise<void> {
  producer.close();
  await b.sig.request('closeProducer', { producerId: producer.id }).catch(() => undefined);
}
