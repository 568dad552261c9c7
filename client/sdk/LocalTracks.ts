import type { types } from 'mediasoup-client';
import { Dynacast, type DynacastState } from './Dynacast.js';
import { ScreenShare } from './screenShare.js';
import { SIMULCAST_ENCODINGS } from './simulcast.js';
import type { Signaling } from './Signaling.js';
import { captureHeight, getLocalMedia, openDevice } from './support.js';
import type { JoinOptions, Kind, LocalMedia } from './types.js';

// The local side of one client: the camera and mic (acquired once, kept across rejoins), whether
// each is enabled, the current session's producers, and dynacast on the camera's sender. Owned by
// OctomeshClient, which binds it to each session's socket and ends it with the session.

const SIMULCAST: types.RtpEncodingParameters[] = SIMULCAST_ENCODINGS.map((e) => ({ ...e }));

interface Bound {
  readonly sig: Signaling;
  readonly producers: Partial<Record<Kind, types.Producer>>;
}

export class LocalTracks {
  #media: LocalMedia = { audio: null, video: null };
  #promise: Promise<LocalMedia> | null = null;
  /** What the app asked to send (JoinOptions audio / video). */
  #want = { audio: true, video: true };
  /** The camera and mic chosen (JoinOptions videoDeviceId / audioDeviceId, or setDevice). */
  #devices: Pick<JoinOptions, 'audioDeviceId' | 'videoDeviceId'> = {};
  readonly #enabled: Record<Kind, boolean> = { audio: true, video: true };
  readonly #dynacast = new Dynacast();
  #bound: Bound | null = null;
  readonly #onMedia: (media: LocalMedia) => void;
  /** Whether media is still wanted when the permission prompt answers (the client did not leave or fail meanwhile). */
  readonly #wanted: () => boolean;

  /** The screen being shared: its capture outlives a rejoin like the camera's. */
  readonly screen: ScreenShare;

  constructor(onMedia: (media: LocalMedia) => void, wanted: () => boolean, onScreen: (track: MediaStreamTrack | null) => void) {
    this.#onMedia = onMedia;
    this.#wanted = wanted;
    this.screen = new ScreenShare(onScreen);
  }

  get media(): LocalMedia {
    return { ...this.#media };
  }

  enabled(kind: Kind): boolean {
    return this.#enabled[kind];
  }

  /** Once until stop(): the permission prompt overlaps the signaling round trips, and rejoins reuse the tracks. */
  acquire(audio: boolean, video: boolean, devices: Pick<JoinOptions, 'audioDeviceId' | 'videoDeviceId'> = this.#devices): Promise<LocalMedia> {
    this.#want = { audio, video };
    this.#devices = { ...(devices.audioDeviceId ? { audioDeviceId: devices.audioDeviceId } : {}), ...(devices.videoDeviceId ? { videoDeviceId: devices.videoDeviceId } : {}) };
    this.#promise ??= getLocalMedia(audio, video, this.#devices).then((media) => {
      if (!this.#wanted()) {
        media.audio?.stop();
        media.video?.stop();
        return { audio: null, video: null };
      }
      this.#media = media;
      this.#onMedia({ ...media });
      return media;
    });
    return this.#promise;
  }

  /** Another camera or mic in the call: replaceTrack on its producer (no renegotiation); a rejoin sends it too. */
  async setDevice(kind: Kind, deviceId: string): Promise<void> {
    const track = await openDevice(kind, deviceId);
    if (!this.#wanted()) return void track.stop();
    track.enabled = this.#enabled[kind];
    const old = this.#media[kind];
    this.#media = { ...this.#media, [kind]: track };
    this.#promise = Promise.resolve(this.#media);
    this.#devices = { ...this.#devices, [kind === 'audio' ? 'audioDeviceId' : 'videoDeviceId']: deviceId };
    const producer = this.#bound?.producers[kind];
    if (producer && !producer.closed) await producer.replaceTrack({ track });
    old?.stop();
    this.#onMedia({ ...this.#media });
  }

  /** The camera light goes off. Idempotent. */
  stop(): void {
    void this.screen.stop();
    this.#media.audio?.stop();
    this.#media.video?.stop();
    this.#media = { audio: null, video: null };
    this.#promise = null;
  }

  /** A new session's send transport: its produce requests go through `sig`. */
  bind(sig: Signaling, send: types.Transport): void {
    this.sessionEnded();
    this.#bound = { sig, producers: {} };
    send.on('produce', ({ kind, rtpParameters, appData }, done, fail) => {
      const source = appData['source'] as 'mic' | 'camera' | 'screen';
      const videoHeight = appData['videoHeight'] as number | undefined;
      sig.request('produce', { transportId: send.id, kind, rtpParameters, source, ...(videoHeight ? { videoHeight } : {}) })
        .then(({ producerId }) => done({ id: producerId }), fail);
    });
  }

  /** Produces the mic and the camera (simulcast) on the bound session, once they are acquired. */
  async produceAll(send: types.Transport, canProduce: (kind: Kind) => boolean): Promise<void> {
    const bound = this.#bound;
    const local = await this.acquire(this.#want.audio, this.#want.video);
    for (const kind of ['audio', 'video'] as const) {
      const track = local[kind];
      if (!track || track.readyState === 'ended' || this.#bound !== bound || !bound || send.closed || !canProduce(kind)) continue;
      try {
        // stopTracks: false keeps the camera and mic alive across rejoins (no second prompt).
        const producer = await send.produce({
          track,
          stopTracks: false,
          // videoHeight: the server maps tile sizes to simulcast layers by the top layer's height.
          appData: { source: kind === 'audio' ? 'mic' : 'camera', ...(kind === 'video' ? { videoHeight: captureHeight(track) } : {}) },
          ...(kind === 'video' ? { encodings: SIMULCAST } : {}),
        });
        if (this.#bound !== bound) {
          producer.close();
          return;
        }
        bound.producers[kind] = producer;
        if (kind === 'video') this.#dynacast.add(producer);
        // A disabled track makes a producer that is paused locally but not on the server.
        if (!this.#enabled[kind]) await this.#apply(kind, true);
      } catch (err) {
        if (this.#bound === bound) console.warn(`octomesh: cannot send ${kind}`, err);
      }
    }
    if (this.#bound === bound && bound && !send.closed) await this.screen.bind(bound.sig, send).catch((err: unknown) => console.warn('octomesh: cannot send the screen', err));
  }

  setEnabled(kind: Kind, enabled: boolean): Promise<void> {
    this.#enabled[kind] = enabled;
    return this.#apply(kind);
  }

  /** Dynacast: the node's producerDemand for one of our producers. */
  setDemand(producerId: string, maxSpatialLayer: number): void {
    this.#dynacast.setDemand(producerId, maxSpatialLayer);
  }

  dynacastState(): DynacastState | null {
    const producer = this.#bound?.producers.video;
    return producer ? this.#dynacast.state(producer.id) : null;
  }

  /** The session's producers went with its transport. Idempotent. */
  sessionEnded(): void {
    this.#bound = null;
    this.screen.sessionEnded();
    this.#dynacast.clear();
  }

  async #apply(kind: Kind, force = false): Promise<void> {
    const want = this.#enabled[kind];
    const bound = this.#bound;
    const producer = bound?.producers[kind];
    if (!bound || !producer || producer.closed) {
      const track = this.#media[kind];
      if (track) track.enabled = want; // the preview shows it; the next produce re-applies it
      return;
    }
    if (producer.paused !== want && !force) return;
    if (want) producer.resume();
    else producer.pause();
    await bound.sig.request(want ? 'resumeProducer' : 'pauseProducer', { producerId: producer.id });
  }
}
