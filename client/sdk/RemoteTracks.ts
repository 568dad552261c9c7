import type { types } from 'mediasoup-client';
import type { Notifications } from '../../core/protocol.js';
import { AdaptiveStream } from './AdaptiveStream.js';
import type { Notification, Signaling } from './Signaling.js';
import type { JitterPolicy } from './jitterPolicy.js';
import { RelayJitter } from './RelayJitter.js';
import type { ClientEvents, RemoteMedia } from './types.js';

// The remote tracks of one client: a mediasoup Consumer per track, the RemoteMedia the app sees,
// the relayed ones' jitter buffers (RelayJitter) and what each one's tile asks of the server
// (AdaptiveStream). Owned by OctomeshClient, which hands it the media notifications of the
// current session in order and clears it when the session goes.

/** Notifications about consumers; they run one after another, after the recv transport exists. */
export type MediaNotification = Extract<Notification, { name: 'newConsumer' | 'producerClosed' | 'producerPaused' | 'producerResumed' | 'consumerRelayRtt' | 'consumerLayersChanged' }>;

type TrackEvents = Pick<ClientEvents, 'consumer' | 'consumerUpdated' | 'consumerClosed'>;
type Emit = <K extends keyof TrackEvents>(event: K, ...args: TrackEvents[K]) => void;

export class RemoteTracks {
  readonly #consumers = new Map<string, { media: RemoteMedia; consumer: types.Consumer }>();
  readonly #emit: Emit;
  /** Adaptive stream of these consumers (the client hands the app's attach/detach straight to it). */
  readonly adaptive = new AdaptiveStream();
  /** Lets relayed media wait for repairs across the relay while losses are seen. */
  readonly #jitter = new RelayJitter((consumerId, targetMs) => {
    const entry = this.#consumers.get(consumerId);
    if (!entry) return;
    entry.media.jitterBufferTargetMs = targetMs;
    this.#emit('consumerUpdated', entry.media);
  });

  constructor(emit: Emit) {
    this.#emit = emit;
  }

  get list(): RemoteMedia[] {
    return [...this.#consumers.values()].map((c) => c.media);
  }

  /** Requests about consumers (resume, pause, view) go through this session's socket from now on. */
  bind(sig: Signaling): void {
    this.adaptive.setSender((consumerId, step) =>
      step.method === 'setConsumerView'
        ? sig.request('setConsumerView', { consumerId, width: step.view.width, height: step.view.height })
        : sig.request(step.method, { consumerId }));
  }


  /**
   * `live` says whether the session is still current after each await; `jitter` is null when the
   * app turned relay jitter buffering off.
   */
  async handle(recv: types.Transport, n: MediaNotification, jitter: JitterPolicy | null, live: () => boolean): Promise<void> {
    switch (n.name) {
      case 'newConsumer':
        await this.#consume(recv, n.data, jitter, live);
        return;
      case 'producerClosed':
        this.close(n.data.consumerId);
        return;
      case 'producerPaused':
      case 'producerResumed': {
        const entry = this.#consumers.get(n.data.consumerId);
        if (!entry) return;
        entry.media.producerPaused = n.name === 'producerPaused';
        this.#emit('consumerUpdated', entry.media);
        return;
      }
      case 'consumerRelayRtt': {
        const entry = this.#consumers.get(n.data.consumerId);
        if (!entry) return;
        entry.media.relayRttMs = n.data.relayRttMs;
        this.#jitter.setRelayRtt(n.data.consumerId, n.data.relayRttMs);
        return;
      }
      case 'consumerLayersChanged': {
        const entry = this.#consumers.get(n.data.consumerId);
        if (!entry) return;
        const { spatialLayer, temporalLayer } = n.data;
        entry.media.currentLayers = spatialLayer === null ? null : { spatialLayer, temporalLayer };
        this.#emit('consumerUpdated', entry.media);
        return;
      }
    }
  }

  async #consume(recv: types.Transport, d: Notifications['newConsumer'], jitter: JitterPolicy | null, live: () => boolean): Promise<void> {
    const consumer = await recv.consume({ id: d.consumerId, producerId: d.producerId, kind: d.kind, rtpParameters: d.rtpParameters as types.RtpParameters });
    if (!live()) return; // the transport closed and took the consumer with it
    const media: RemoteMedia = {
      consumerId: d.consumerId, producerId: d.producerId, peerId: d.peerId, kind: d.kind, source: d.source,
      track: consumer.track, producerPaused: d.producerPaused, currentLayers: null,
      relayRttMs: d.relayRttMs ?? null, jitterBufferTargetMs: null,
    };
    this.#consumers.set(d.consumerId, { media, consumer });
    if (d.relayRttMs !== undefined && jitter) this.#jitter.add(consumer, d.relayRttMs, jitter);
    this.adaptive.add(d.consumerId, d.kind);
    // The app attaches the video element (attachVideo) while it hears of the consumer.
    this.#emit('consumer', media);
    // Server-side consumers start paused so no keyframe is lost before the track is attached.
    // Audio and video no element was attached for are resumed now; an attached tile resumes once
    // it is seen on screen, at its size.
    this.adaptive.start(d.consumerId);
  }

  close(consumerId: string): void {
    const entry = this.#consumers.get(consumerId);
    if (!entry) return;
    this.#consumers.delete(consumerId);
    this.#jitter.remove(consumerId);
    this.adaptive.remove(consumerId);
    entry.consumer.close();
    this.#emit('consumerClosed', entry.media);
  }

  closePeer(peerId: string): void {
    for (const { media } of [...this.#consumers.values()]) if (media.peerId === peerId) this.close(media.consumerId);
  }

  /** The session is gone (its transport closed the consumers): forget them all, telling the app. */
  clear(): void {
    const gone = this.list;
    this.#jitter.clear();
    this.adaptive.clear();
    this.#consumers.clear();
    for (const media of gone) this.#emit('consumerClosed', media);
  }
}
