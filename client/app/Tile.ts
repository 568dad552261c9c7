import { el, icon, ICONS, initials } from './dom.js';
import type { Box } from './Stage/Layout.js';
import { qualityLevel, qualityText, type PathFigures } from './quality.js';

// One tile on the stage: a person's camera (or avatar) or a shared screen, with its name,
// region, mic state, speaking ring and connection bars. The tile owns its DOM; the stage only
// places it.

export type TileSource = 'camera' | 'screen';

/** What the test hook reports per tile. */
export interface TileInfo {
  id: string;
  peerId: string;
  source: TileSource;
  local: boolean;
  name: string;
  visible: boolean;
  width: number;
  height: number;
  speaking: boolean;
  muted: boolean;
  hasVideo: boolean;
  /** Video is attached but no frame was decoded lately (not forwarded, paused on the server): the avatar shows. */
  stalled: boolean;
  /** Last-N: false when the node does not forward this peer's video to us. */
  forwarded: boolean;
  consumerId: string | null;
  quality: number;
}

export class Tile {
  readonly root: HTMLDivElement;
  readonly video: HTMLVideoElement;
  readonly #name: HTMLSpanElement;
  readonly #region: HTMLSpanElement;
  readonly #mic: HTMLSpanElement;
  readonly #avatar: HTMLDivElement;
  readonly #bars: HTMLSpanElement;
  #displayName = '';
  #regionName = '';
  #hasTrack = false;
  #videoPaused = false;
  #stalled = false;
  #muted = false;
  #speaking = false;
  #quality = 0;
  #box: Box | null = null;
  /** The video consumer shown here (remote tiles), for the test hook and adaptive stream. */
  consumerId: string | null = null;
  /** When this tile's peer last spoke (ms since epoch), for the speaker view. */
  spokeAt = 0;
  readonly joinedAt = Date.now();

  constructor(readonly id: string, readonly peerId: string, readonly source: TileSource, readonly local: boolean) {
    this.root = el('div', `tile ${source}${local ? ' local' : ''}`);
    this.root.setAttribute('role', 'group');
    this.root.dataset['peerId'] = peerId;
    this.root.dataset['source'] = source;
    this.video = el('video');
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = true; // sound goes through <audio>; a muted video may autoplay everywhere
    this.#avatar = el('div', 'avatar');
    this.#avatar.setAttribute('aria-hidden', 'true');
    const label = el('div', 'label');
    this.#mic = el('span', 'mic-off');
    this.#mic.append(icon(ICONS.micOff));
    this.#mic.title = 'Microphone muted';
    this.#mic.hidden = true;
    this.#name = el('span', 'name');
    this.#region = el('span', 'region');
    label.append(this.#mic, this.#name, this.#region);
    this.#bars = el('span', 'bars q0');
    this.#bars.setAttribute('role', 'img');
    for (let i = 1; i <= 3; i++) this.#bars.append(el('i', `b${i}`));
    this.root.append(this.video, this.#avatar, label, this.#bars);
    this.#render();
  }

  get name(): string { return this.#displayName; }
  get speaking(): boolean { return this.#speaking; }
  get hasVideo(): boolean { return this.#hasTrack && !this.#videoPaused; }
  get box(): Box | null { return this.#box; }

  setName(name: string): void {
    this.#displayName = name;
    this.#render();
  }

  setRegion(region: string): void {
    this.#regionName = region;
    this.#render();
  }

  /** The track to show (null: none, the avatar shows), and for a remote tile its consumer. */
  setTrack(track: MediaStreamTrack | null, consumerId: string | null = null): void {
    this.consumerId = consumerId;
    this.#hasTrack = track !== null;
    this.video.srcObject = track ? new MediaStream([track]) : null;
    if (track) this.video.play().catch(() => undefined); // muted: autoplay is allowed; a detached element just rejects
    this.#render();
  }

  /** The sender paused its camera (or our own camera is off): the avatar, not a frozen frame. */
  setVideoPaused(paused: boolean): void {
    this.#videoPaused = paused;
    this.#render();
  }

  /**
   * No frame decoded for a while although the sender is not paused: the server stopped
   * forwarding it (last-N, a paused consumer). An avatar, not a frozen frame.
   */
  setStalled(stalled: boolean): void {
    if (this.#stalled === stalled) return;
    this.#stalled = stalled;
    this.#render();
  }

  setMuted(muted: boolean): void {
    if (this.#muted === muted) return;
    this.#muted = muted;
    this.#render();
  }

  setSpeaking(speaking: boolean): void {
    if (speaking) this.spokeAt = Date.now();
    if (this.#speaking === speaking) return;
    this.#speaking = speaking;
    this.#render();
  }

  setQuality(f: PathFigures): void {
    const level = qualityLevel(f);
    this.#quality = level;
    this.#bars.className = `bars q${level}`;
    this.#bars.title = qualityText(f);
    this.#bars.setAttribute('aria-label', this.#bars.title);
  }

  /** Where the stage puts this tile; null: not on the current page. */
  place(box: Box | null): void {
    this.#box = box;
    this.root.hidden = box === null;
    if (!box) return;
    const s = this.root.style;
    s.left = `${box.x}px`;
    s.top = `${box.y}px`;
    s.width = `${box.w}px`;
    s.height = `${box.h}px`;
    this.root.classList.toggle('small', box.w < 200);
  }

  info(): TileInfo {
    const visible = this.#box !== null && this.root.isConnected;
    return {
      id: this.id, peerId: this.peerId, source: this.source, local: this.local, name: this.#displayName, visible,
      width: visible ? this.root.clientWidth : 0, height: visible ? this.root.clientHeight : 0,
      speaking: this.#speaking, muted: this.#muted, hasVideo: this.hasVideo, stalled: this.#stalled, forwarded: !this.root.classList.contains('not-forwarded'), consumerId: this.consumerId, quality: this.#quality,
    };
  }

  close(): void {
    this.video.srcObject = null;
    this.root.remove();
  }

  #render(): void {
    const screen = this.source === 'screen';
    const who = this.local ? `${this.#displayName} (you)` : this.#displayName;
    this.#name.textContent = screen ? (this.local ? 'You are sharing your screen' : `${this.#displayName}'s screen`) : who;
    this.#region.textContent = this.#regionName;
    this.#region.hidden = !this.#regionName;
    this.#avatar.textContent = initials(this.#displayName || '?');
    this.#mic.hidden = screen || !this.#muted;
    this.root.classList.toggle('no-video', !this.hasVideo || this.#stalled);
    this.root.classList.toggle('speaking', this.#speaking && !screen);
    this.root.classList.toggle('muted', this.#muted);
    const state = [this.#regionName, !screen && this.#muted ? 'microphone muted' : '', this.#speaking && !screen ? 'speaking' : '', this.hasVideo ? '' : 'camera off'];
    this.root.setAttribute('aria-label', [this.#name.textContent, ...state].filter(Boolean).join(', '));
  }
}
