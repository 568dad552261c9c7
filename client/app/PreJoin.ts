import { DevicePicker, type DeviceChoice, type DeviceKind } from './DevicePicker.js';
import { byId, cleanName, icon, ICONS, remembered, ROOM_RE, ROOM_RULE, showView } from './dom.js';
import { LevelMeter } from './LevelMeter.js';

// The pre-join screen: the camera as others will see it, the microphone's level, device
// pickers, the room and a name (remembered). Joining stops the preview; the call opens the
// chosen devices itself.

export interface JoinChoice {
  room: string;
  name: string;
  devices: DeviceChoice;
  micOn: boolean;
  cameraOn: boolean;
}

/** What the test hook can read while the pre-join screen is up. */
export interface PreJoinHook {
  state: 'prejoin';
  micLevel(): number;
  previewWidth(): number;
  devices(): DeviceChoice;
}

export function preJoin(params: URLSearchParams, error = ''): Promise<JoinChoice> {
  showView('join-view');
  const form = byId<HTMLFormElement>('join-form');
  const roomInput = byId<HTMLInputElement>('join-room');
  const nameInput = byId<HTMLInputElement>('join-name');
  const errorBox = byId('join-error');
  const video = byId<HTMLVideoElement>('preview-video');
  const preview = byId('preview');
  const micBtn = byId<HTMLButtonElement>('preview-mic');
  const camBtn = byId<HTMLButtonElement>('preview-cam');
  roomInput.value = params.get('room') ?? '';
  nameInput.value = params.get('name') ?? remembered.get('name');
  errorBox.textContent = error;
  (roomInput.value ? nameInput : roomInput).focus();

  const tracks: Partial<Record<'audioinput' | 'videoinput', MediaStreamTrack>> = {};
  const on = { audioinput: true, videoinput: true };
  let meter: LevelMeter | null = null;
  const picker = new DevicePicker('device', (kind) => void open(kind));
  byId('device-slot').append(picker.root);

  const render = (): void => {
    const cam = tracks.videoinput;
    preview.classList.toggle('no-video', !cam || !on.videoinput);
    toggleButton(micBtn, on.audioinput, tracks.audioinput ? (on.audioinput ? 'Turn microphone off' : 'Turn microphone on') : 'No microphone', on.audioinput ? ICONS.mic : ICONS.micOff, !tracks.audioinput);
    toggleButton(camBtn, on.videoinput, cam ? (on.videoinput ? 'Turn camera off' : 'Turn camera on') : 'No camera', on.videoinput ? ICONS.cam : ICONS.camOff, !cam);
  };

  // A chosen device is 'ideal', not 'exact': one unplugged since falls back to the default.
  const constraints = (kind: 'audioinput' | 'videoinput'): MediaTrackConstraints => {
    const id = picker.choice[kind];
    return { ...(kind === 'videoinput' ? { width: 1280, height: 720 } : {}), ...(id ? { deviceId: id } : {}) };
  };
  /** (Re)opens one device with the current choice; the preview and meter follow. */
  const open = async (kind: DeviceKind, given?: MediaStreamTrack | null): Promise<void> => {
    if (kind === 'audiooutput') return; // nothing to preview; the call applies it
    const md = navigator.mediaDevices;
    if (!md?.getUserMedia) return;
    const track = given !== undefined ? given : await md
      .getUserMedia(kind === 'videoinput' ? { video: constraints(kind) } : { audio: constraints(kind) })
      .then((s) => (kind === 'videoinput' ? s.getVideoTracks()[0] : s.getAudioTracks()[0]) ?? null, () => null);
    tracks[kind]?.stop();
    if (track) tracks[kind] = track;
    else delete tracks[kind];
    if (track) track.enabled = on[kind];
    if (kind === 'videoinput') {
      video.srcObject = track ? new MediaStream([track]) : null;
      video.play().catch(() => undefined);
    } else {
      meter?.close();
      meter = track ? new LevelMeter(track, byId('mic-level')) : null;
    }
    picker.showTrack(kind, track);
    render();
  };

  const toggle = (kind: 'audioinput' | 'videoinput'): void => {
    on[kind] = !on[kind];
    const track = tracks[kind];
    if (track) track.enabled = on[kind];
    render();
  };
  micBtn.addEventListener('click', () => toggle('audioinput'));
  camBtn.addEventListener('click', () => toggle('videoinput'));

  const hookState: PreJoinHook = {
    state: 'prejoin',
    micLevel: () => meter?.level ?? 0,
    previewWidth: () => video.videoWidth,
    devices: () => picker.choice,
  };
  (window as { __octomesh?: unknown }).__octomesh = hookState;

  render();
  // One permission prompt for both (each alone if one is missing or refused); then the devices have names.
  void navigator.mediaDevices?.getUserMedia({ video: constraints('videoinput'), audio: constraints('audioinput') })
    .then((s) => Promise.all([open('videoinput', s.getVideoTracks()[0] ?? null), open('audioinput', s.getAudioTracks()[0] ?? null)]))
    .catch(() => Promise.all([open('videoinput'), open('audioinput')]))
    .then(() => picker.refresh());

  return new Promise((resolve) => {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const room = roomInput.value.trim();
      const name = cleanName(nameInput.value);
      if (!ROOM_RE.test(room)) {
        errorBox.textContent = ROOM_RULE;
        return;
      }
      if (!name) {
        errorBox.textContent = 'Please enter your name.';
        return;
      }
      remembered.set('name', name);
      meter?.close();
      for (const track of Object.values(tracks)) track.stop();
      video.srcObject = null;
      picker.close();
      resolve({ room, name, devices: picker.choice, micOn: on.audioinput, cameraOn: on.videoinput });
    });
  });
}

function toggleButton(b: HTMLButtonElement, on: boolean, label: string, path: string, missing: boolean): void {
  b.disabled = missing;
  b.classList.toggle('off', !on || missing);
  b.setAttribute('aria-label', label);
  b.setAttribute('aria-pressed', String(!on));
  b.title = label;
  b.replaceChildren(icon(path));
}
