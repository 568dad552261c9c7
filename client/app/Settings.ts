import type { OctomeshClient } from '../sdk/OctomeshClient.js';
import { DevicePicker, type DeviceKind } from './DevicePicker.js';
import { el } from './dom.js';

// The devices panel in the call: the same pickers as the pre-join screen; a camera or microphone
// chosen here replaces the one being sent, a speaker applies to every remote sound.

export class Settings {
  readonly #panel: HTMLDivElement;
  readonly #picker: DevicePicker;
  readonly #client: OctomeshClient;
  readonly #onOutside = (e: PointerEvent): void => {
    const t = e.target as Node | null;
    if (t && !this.#panel.contains(t) && !(t instanceof Element && t.closest('#settings-btn'))) this.hide();
  };
  readonly #onKey = (e: KeyboardEvent): void => { if (e.key === 'Escape') this.hide(); };

  constructor(host: HTMLElement, client: OctomeshClient, onSpeaker: (deviceId: string) => void, onError: (text: string) => void) {
    this.#client = client;
    this.#picker = new DevicePicker('call-device', (kind: DeviceKind, deviceId: string) => {
      if (kind === 'audiooutput') return onSpeaker(deviceId);
      const what = kind === 'videoinput' ? 'video' : 'audio';
      client.setDevice(what, deviceId).catch((err: unknown) => {
        console.warn('octomesh: device switch', err);
        onError(`Cannot use that ${kind === 'videoinput' ? 'camera' : 'microphone'}`);
      });
    });
    this.#panel = el('div', 'settings');
    this.#panel.id = 'settings-panel';
    this.#panel.setAttribute('role', 'dialog');
    this.#panel.setAttribute('aria-label', 'Devices');
    this.#panel.hidden = true;
    this.#panel.append(el('h2', '', 'Devices'), this.#picker.root);
    host.append(this.#panel);
  }

  get open(): boolean {
    return !this.#panel.hidden;
  }

  toggle(): void {
    if (this.open) this.hide();
    else void this.show();
  }

  async show(): Promise<void> {
    this.#panel.hidden = false;
    document.addEventListener('pointerdown', this.#onOutside);
    document.addEventListener('keydown', this.#onKey);
    await this.#picker.refresh();
    const { audio, video } = this.#client.localMedia;
    this.#picker.showTrack('videoinput', video);
    this.#picker.showTrack('audioinput', audio);
    this.#panel.querySelector('select')?.focus();
  }

  hide(): void {
    this.#panel.hidden = true;
    document.removeEventListener('pointerdown', this.#onOutside);
    document.removeEventListener('keydown', this.#onKey);
  }

  close(): void {
    this.hide();
    this.#picker.close();
  }
}
