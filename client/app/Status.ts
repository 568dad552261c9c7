import type { OctomeshClient, ReconnectCause } from '../sdk/OctomeshClient.js';
import { byId } from './dom.js';
import type { AppState, OctomeshHook } from './hook.js';
import { RegionMap, type MapRegion } from './RegionMap.js';

// What the top bar and the notice line say: the connection state, connection problems in
// words, and the regions the room spans (text and map).

/** What went wrong, in words for the person in the call (the SDK's reason is for logs). */
const CAUSE_TEXT: Record<ReconnectCause, string> = {
  media: 'Connected to the server, but audio and video cannot get through: a firewall, VPN or this network may be blocking WebRTC (UDP).',
  connection: 'The connection to the server was lost.',
  server: 'The server is moving this call.',
  unreachable: 'Cannot reach a server for this call.',
  refused: 'The server could not take this call just now.',
  router: 'Cannot get a server for this call: the service may be down or this network may block it.',
};

export class Status {
  readonly #client: OctomeshClient;
  readonly #hook: OctomeshHook;
  readonly #badge = byId('badge');
  readonly #notice = byId('call-notice');
  readonly #spans = byId('room-regions');
  readonly #map = new RegionMap();
  /** The cause of the last rejoin, until a session proves healthy. */
  #troubled: ReconnectCause | null = null;

  constructor(client: OctomeshClient, hook: OctomeshHook) {
    this.#client = client;
    this.#hook = hook;
    byId('map-slot').append(this.#map.root);
    // The map is a nicety: a cluster without /api/regions just shows no dots.
    fetch('/api/regions')
      .then((r) => (r.ok ? (r.json() as Promise<{ regions: MapRegion[] }>) : { regions: [] }))
      .then((body) => {
        this.#map.setRegions(body.regions);
        this.renderSpans();
      })
      .catch(() => undefined);
    client.on('state', (s) => { if (s !== 'idle' && s !== 'joined') this.setState(s); });
    client.on('reconnecting', ({ cause, reason, attempt, delayMs }) => {
      hook.reconnects.push({ cause, reason, delayMs });
      this.#troubled = cause;
      const when = delayMs < 1000 ? 'now' : `in ${Math.round(delayMs / 1000)} s`;
      this.#setNotice(`${CAUSE_TEXT[cause]} Trying again ${when}${attempt > 1 ? ` (attempt ${attempt})` : ''}.`);
      console.warn(`octomesh: rejoining (${reason})`);
    });
    client.on('healthy', () => {
      this.#troubled = null;
      this.#setNotice(null);
    });
    client.on('joined', (self) => {
      Object.assign(hook, { region: self.region, nodeId: self.nodeId, peerId: self.peerId, route: self.route ?? null });
      delete hook.error;
      delete hook.errorCode;
      this.setState('joined');
      this.#setBadge(`${self.region} · ${self.nodeId}`, 'joined');
      // Joining worked before too when media could not get through: say so until media flows.
      if (this.#troubled === 'media') this.#setNotice(`${CAUSE_TEXT.media} Rejoined; checking again.`);
      else this.#setNotice(null);
      this.renderSpans();
    });
    client.on('error', (err) => {
      this.#setNotice(null);
      this.setState('error', err);
    });
    client.on('peerJoined', () => this.renderSpans());
    client.on('peerLeft', () => this.renderSpans());
  }

  setState(state: AppState, error?: unknown): void {
    const hook = this.#hook;
    hook.state = state;
    if (error !== undefined) {
      hook.error = error instanceof Error ? error.message : String(error);
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string') hook.errorCode = code;
      else delete hook.errorCode;
    }
    if (state === 'joining') this.#setBadge('connecting…', 'joining');
    else if (state === 'reconnecting') this.#setBadge('reconnecting…', 'reconnecting');
    else if (state === 'error') this.#setBadge(`error: ${hook.error ?? 'unknown'}`, 'error');
    else if (state === 'left') this.#setBadge('left', '');
  }

  /** The regions this room spans right now: ours plus every peer's (the cascade's extent). */
  renderSpans(): void {
    const regions = new Set<string>(this.#client.peers.map((p) => p.region));
    if (this.#hook.region) regions.add(this.#hook.region);
    this.#spans.textContent = regions.size ? `spans ${[...regions].sort().join(' · ')}` : '';
    this.#map.render(this.#hook.region, regions);
  }

  #setNotice(text: string | null): void {
    this.#hook.notice = text;
    this.#notice.textContent = text ?? '';
    this.#notice.hidden = text === null;
  }

  #setBadge(text: string, cls: string): void {
    this.#badge.textContent = text;
    this.#badge.className = `badge ${cls}`;
  }
}
