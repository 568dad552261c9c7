// Adaptive stream as pure functions: what a video tile wants from the server (paused or not, the
// size it is drawn at) and which single request brings the server closer to that. AdaptiveStream
// reads the DOM and runs the timers; everything it decides is decided here, so the policy is a
// table test and not a property of observers and timers.

/** Device pixels: CSS size × devicePixelRatio, as setConsumerView takes it. */
export interface ViewSize {
  width: number;
  height: number;
}

/** What the server has been told about one consumer (told) or what its tile wants now (want). */
export interface ConsumerView {
  paused: boolean;
  /** null: not known (never drawn), nothing to send. */
  view: ViewSize | null;
}

export type Step =
  | { method: 'setConsumerView'; view: ViewSize }
  | { method: 'pauseConsumer' }
  | { method: 'resumeConsumer' };

/** What the DOM says about one video element. */
export interface Sighting {
  /** In the viewport (IntersectionObserver); null while no observation has come in yet. */
  intersecting: boolean | null;
  /** document.visibilityState === 'visible': a hidden tab draws nothing. */
  pageVisible: boolean;
  /** clientWidth / clientHeight (CSS px); 0 when not laid out (display: none, not in the document). */
  cssWidth: number;
  cssHeight: number;
  devicePixelRatio: number;
}

/** setConsumerView's bounds (core/protocol.ts). */
export const MAX_VIEW: ViewSize = { width: 7680, height: 4320 };

/**
 * A size change smaller than this fraction of what was last sent is not sent. Simulcast layers
 * are a factor 2 apart, so a tile that is 10 % off what the server knows is at worst one step
 * short of the layer that would cover it exactly, while a window dragged by a few pixels at a
 * time sends nothing (a slow drag adds up against the size last sent, and is sent once it does).
 */
export const VIEW_CHANGE_RATIO = 0.1;

/** Quiet time after the last change before anything is sent: a scroll or a drag sends once. */
export const DEBOUNCE_MS = 250;
/** …but a change that never settles (a long scroll) is still sent this often. */
export const DEBOUNCE_MAX_WAIT_MS = 1_000;
/**
 * A freshly attached tile waits this long at most for its first IntersectionObserver report
 * before it is resumed on what else is known (a hidden tab delivers none until it is shown).
 */
export const FIRST_SIGHTING_WAIT_MS = 1_000;

/** The element's drawn size in device pixels, inside setConsumerView's bounds; null when not laid out. */
export function deviceViewSize(cssWidth: number, cssHeight: number, devicePixelRatio: number): ViewSize | null {
  if (!(cssWidth > 0) || !(cssHeight > 0)) return null;
  const dpr = Number.isFinite(devicePixelRatio) && devicePixelRatio > 0 ? devicePixelRatio : 1;
  const clamp = (v: number, max: number): number => Math.min(max, Math.max(1, Math.round(v * dpr)));
  return { width: clamp(cssWidth, MAX_VIEW.width), height: clamp(cssHeight, MAX_VIEW.height) };
}

/** Whether `next` differs enough from what the server knows (`sent`) to be sent. */
export function viewWorthSending(sent: ViewSize | null, next: ViewSize | null, ratio = VIEW_CHANGE_RATIO): next is ViewSize {
  if (!next) return false;
  if (!sent) return true;
  const change = Math.max(Math.abs(next.width - sent.width) / sent.width, Math.abs(next.height - sent.height) / sent.height);
  return change >= ratio;
}

/**
 * What an attached tile wants. Shown means: in the viewport, in a visible tab, laid out with a
 * size. An element never observed yet counts as shown once `assumeShown` (the first-sighting
 * wait ran out), so a tile is not kept dark by a missing report.
 */
export function wantedView(s: Sighting, assumeShown = false): ConsumerView {
  const view = deviceViewSize(s.cssWidth, s.cssHeight, s.devicePixelRatio);
  const inViewport = s.intersecting ?? assumeShown;
  return { paused: !(inViewport && s.pageVisible && view !== null), view };
}

/**
 * The one request that brings the server from `told` towards `want`, or null when nothing is
 * worth sending. A tile shown again sends its size before resuming, so the key frame the resume
 * asks for is already of the right layer; a paused tile's size changes are not sent at all.
 */
export function nextStep(told: ConsumerView, want: ConsumerView, ratio = VIEW_CHANGE_RATIO): Step | null {
  if (want.paused) return told.paused ? null : { method: 'pauseConsumer' };
  if (viewWorthSending(told.view, want.view, ratio)) return { method: 'setConsumerView', view: want.view };
  if (told.paused) return { method: 'resumeConsumer' };
  return null;
}

/**
 * When a debounced change is due: DEBOUNCE_MS after the latest change, but no later than
 * DEBOUNCE_MAX_WAIT_MS after the first change not yet acted on.
 */
export function debounceDueAt(firstChangeAt: number, lastChangeAt: number, delayMs = DEBOUNCE_MS, maxWaitMs = DEBOUNCE_MAX_WAIT_MS): number {
  return Math.min(lastChangeAt + delayMs, firstChangeAt + maxWaitMs);
}
