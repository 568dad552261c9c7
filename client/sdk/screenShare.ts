import type { types } from 'mediasoup-client';

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
