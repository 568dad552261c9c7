import { el, remembered } from './dom.js';

// Camera, microphone and speaker choice: <select>s filled from enumerateDevices() (labels appear
// once the page may use the camera and microphone) and remembered between visits. The speaker
// picker exists only where audio elements can choose their output (setSinkId).

export type DeviceKind = 'videoinput' | 'audioinput' | 'audiooutput';

export interface DeviceChoice {
  videoinput: string;
  audioinput: string;
  audiooutput: string;
}

const LABELS: Record<DeviceKind, string> = { videoinput: 'Camera', audioinput: 'Microphone', audiooutput: 'Speaker' };

export function canPickSpeaker(): boolean {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

export function rememberedDevices(): DeviceChoice {
  return { videoinput: remembered.get('videoinput'), audioinput: remembered.get('audioinput'), audiooutput: remembered.get('audiooutput') };
}

/** Sends an audio element's sound to the chosen speaker; a device gone since is left at the default. */
export function applySpeaker(media: HTMLMediaElement, deviceId: string): void {
  const m = media as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (deviceId && m.setSinkId) m.setSinkId(deviceId).catch((err: unknown) => console.warn('octomesh: speaker not available', err));
}

export class DevicePicker {
  readonly root: HTMLDivElement;
  readonly #selects = new Map<DeviceKind, HTMLSelectElement>();
  readonly #choice: DeviceChoice;
  readonly #onChange: (kind: DeviceKind, deviceId: string) => void;
  readonly #refresh = (): void => void this.refresh();

  /** `idPrefix`: the selects' ids are `${idPrefix}-videoinput` etc. (the pre-join screen's and the call's differ). */
  constructor(idPrefix: string, onChange: (kind: DeviceKind, deviceId: string) => void) {
    this.#onChange = onChange;
    this.#choice = rememberedDevices();
    this.root = el('div', 'devices');
    const kinds: DeviceKind[] = canPickSpeaker() ? ['videoinput', 'audioinput', 'audiooutput'] : ['videoinput', 'audioinput'];
    for (const kind of kinds) {
      const label = el('label', 'device', LABELS[kind]);
      const select = el('select');
      select.id = `${idPrefix}-${kind}`;
      select.addEventListener('change', () => {
        this.#choice[kind] = select.value;
        remembered.set(kind, select.value);
        this.#onChange(kind, select.value);
      });
      label.append(select);
      this.root.append(label);
      this.#selects.set(kind, select);
    }
    navigator.mediaDevices?.addEventListener('devicechange', this.#refresh);
  }

  get choice(): DeviceChoice {
    return { ...this.#choice };
  }

  /** Re-reads the devices; call once the stream is open, so they have names. */
  async refresh(): Promise<void> {
    const devices = (await navigator.mediaDevices?.enumerateDevices().catch(() => [])) ?? [];
    for (const [kind, select] of this.#selects) {
      const list = devices.filter((d) => d.kind === kind && d.deviceId);
      const options = list.map((d, i) => {
        const o = el('option', '', d.label || `${LABELS[kind]} ${i + 1}`);
        o.value = d.deviceId;
        return o;
      });
      if (options.length === 0) options.push(el('option', '', `No ${LABELS[kind].toLowerCase()} found`));
      select.replaceChildren(...options);
      select.disabled = list.length === 0;
      if (list.some((d) => d.deviceId === this.#choice[kind])) select.value = this.#choice[kind];
    }
  }

  /** The device a track actually came from (the browser may not have honoured the choice). */
  showTrack(kind: 'videoinput' | 'audioinput', track: MediaStreamTrack | null): void {
    const id = track?.getSettings().deviceId;
    const select = this.#selects.get(kind);
    if (id && select && [...select.options].some((o) => o.value === id)) select.value = id;
  }

  close(): void {
    navigator.mediaDevices?.removeEventListener('devicechange', this.#refresh);
  }
}
