import { el, icon, ICONS, typingIn } from './dom.js';
import type { LayoutMode } from './Stage/Layout.js';

// The call's controls and their keyboard shortcuts (M: microphone, V: camera, L: layout), which
// do nothing while the person types in a field (the chat; Escape leaves it).

export interface ToolbarActions {
  toggleMic(): void;
  toggleCamera(): void;
  toggleScreen(): void;
  toggleLayout(): void;
  toggleSettings(): void;
  enableSound(): void;
  leave(): void;
}

export interface ToolbarState {
  /** null: no such device (or no permission). */
  mic: boolean | null;
  camera: boolean | null;
  /** null: this browser cannot share its screen. */
  sharing: boolean | null;
  layout: LayoutMode;
}

const KEYS: Record<string, keyof ToolbarActions> = { m: 'toggleMic', v: 'toggleCamera', l: 'toggleLayout' };

export class Toolbar {
  readonly #mic: HTMLButtonElement;
  readonly #cam: HTMLButtonElement;
  readonly #share: HTMLButtonElement;
  readonly #layout: HTMLButtonElement;
  readonly #sound: HTMLButtonElement;
  readonly #toast: HTMLDivElement;
  readonly #onKey: (e: KeyboardEvent) => void;
  #toastTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(host: HTMLElement, actions: ToolbarActions, inviteUrl: string) {
    host.setAttribute('role', 'toolbar');
    host.setAttribute('aria-label', 'Call controls');
    this.#mic = button('mic-btn', ICONS.mic, 'Mute', actions.toggleMic, 'M');
    this.#cam = button('cam-btn', ICONS.cam, 'Stop video', actions.toggleCamera, 'V');
    this.#share = button('share-btn', ICONS.screen, 'Share screen', actions.toggleScreen);
    this.#layout = button('layout-btn', ICONS.speaker, 'Speaker view', actions.toggleLayout, 'L');
    const invite = button('invite-btn', ICONS.link, 'Invite', () => void this.#copy(inviteUrl));
    const settings = button('settings-btn', ICONS.settings, 'Devices', actions.toggleSettings);
    this.#sound = button('sound-btn', ICONS.sound, 'Enable sound', () => {
      this.#sound.hidden = true;
      actions.enableSound();
    });
    this.#sound.hidden = true;
    const leave = button('leave-btn', ICONS.leave, 'Leave', actions.leave);
    leave.classList.add('danger');
    this.#toast = el('div', 'toast');
    this.#toast.setAttribute('role', 'status');
    this.#toast.hidden = true;
    host.replaceChildren(this.#mic, this.#cam, this.#share, this.#layout, invite, settings, this.#sound, leave, this.#toast);
    this.#onKey = (e) => {
      // Escape leaves the chat field, so the shortcuts work again without reaching for the mouse.
      if (e.key === 'Escape' && typingIn(e.target)) (e.target as HTMLElement).blur();
      if (e.ctrlKey || e.metaKey || e.altKey || e.repeat || typingIn(e.target)) return;
      const action = KEYS[e.key.toLowerCase()];
      if (!action) return;
      e.preventDefault();
      actions[action]();
    };
    document.addEventListener('keydown', this.#onKey);
  }

  render(s: ToolbarState): void {
    setButton(this.#mic, s.mic, s.mic === null ? 'No microphone' : s.mic ? 'Mute' : 'Unmute', s.mic === false ? ICONS.micOff : ICONS.mic);
    setButton(this.#cam, s.camera, s.camera === null ? 'No camera' : s.camera ? 'Stop video' : 'Start video', s.camera === false ? ICONS.camOff : ICONS.cam);
    this.#share.hidden = s.sharing === null;
    setLabel(this.#share, s.sharing ? 'Stop sharing' : 'Share screen');
    this.#share.classList.toggle('active', s.sharing === true);
    this.#share.setAttribute('aria-pressed', String(s.sharing === true));
    setLabel(this.#layout, s.layout === 'grid' ? 'Speaker view' : 'Grid view', s.layout === 'grid' ? ICONS.speaker : ICONS.grid);
  }

  /** Autoplay with sound was refused: one button plays everything after a click. */
  offerSound(): void {
    this.#sound.hidden = false;
  }

  toast(text: string): void {
    this.#toast.textContent = text;
    this.#toast.hidden = false;
    clearTimeout(this.#toastTimer);
    this.#toastTimer = setTimeout(() => { this.#toast.hidden = true; }, 4_000);
  }

  close(): void {
    document.removeEventListener('keydown', this.#onKey);
    clearTimeout(this.#toastTimer);
  }

  async #copy(url: string): Promise<void> {
    if (await copyText(url)) this.toast('Invite link copied');
    else this.toast(`Copy this link: ${url}`);
  }
}

/** navigator.clipboard where the page may use it, else the old execCommand on a hidden field. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no permission, not a secure context, or an old browser
  }
  const field = el('textarea');
  field.value = text;
  field.setAttribute('readonly', '');
  field.style.position = 'fixed';
  field.style.opacity = '0';
  document.body.append(field);
  field.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  field.remove();
  return ok;
}

function button(id: string, path: string, label: string, onClick: () => void, key?: string): HTMLButtonElement {
  const b = el('button', 'tool');
  b.type = 'button';
  b.id = id;
  if (key) b.setAttribute('aria-keyshortcuts', key);
  b.dataset['key'] = key ?? '';
  b.addEventListener('click', onClick);
  setLabel(b, label, path);
  return b;
}

function setLabel(b: HTMLButtonElement, label: string, path?: string): void {
  const key = b.dataset['key'];
  b.setAttribute('aria-label', label);
  b.title = key ? `${label} (${key})` : label;
  if (path && b.dataset['icon'] !== path) {
    b.dataset['icon'] = path;
    b.replaceChildren(icon(path), el('span', 'tool-label', label));
  } else {
    b.querySelector('.tool-label')!.textContent = label;
  }
}

/** A toggle: on (true), off (false, shown pressed-in red), or missing (null, disabled). */
function setButton(b: HTMLButtonElement, on: boolean | null, label: string, path: string): void {
  b.disabled = on === null;
  b.classList.toggle('off', on === false);
  b.setAttribute('aria-pressed', String(on === false));
  setLabel(b, label, path);
}
