import { RegionMap, type MapRegion } from './RegionMap.js';
import { followLastN } from './lastN.js';
import { OctomeshClient, type JoinOptions, type RouteDecision, type ChatMessage, type Layers, type PeerInfo, type ReconnectCause, type RemoteMedia } from '../sdk/OctomeshClient.js';

// The web app: `/?room=R&name=N[&region=X][&token=T][&iceTransportPolicy=relay]` joins at once,
// anything else shows the join form.
// Plain DOM; every piece of user-provided text goes through textContent.

type AppState = 'joining' | 'joined' | 'reconnecting' | 'left' | 'error';

interface ChatEntry extends ChatMessage {
  self: boolean;
}

interface ConsumerSummary {
  consumerId: string;
  producerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  currentLayers: Layers | null;
}

/** The candidate pair ICE selected: 'relay' on the local side means the media goes through TURN. */
interface IceRoute {
  local: string;
  remote: string;
  relayProtocol: string | null;
}

interface InboundStats {
  audio: { packets: number; bytes: number };
  video: { framesDecoded: number; bytes: number; frameWidth: number };
}

/** What end-to-end tests read. */
interface OctomeshHook {
  client: OctomeshClient;
  state: AppState;
  error?: string;
  /** The server's stable code for `error` (e.g. `unauthorized`), when it came from the server. */
  errorCode?: string;
  region: string | null;
  nodeId: string | null;
  peerId: string | null;
  /** How the node was chosen: GeoIP, a faster RTT probe, or a pinned region. */
  route: RouteDecision | null;
  /** What the page tells the person about a connection problem (null: none shown). */
  notice: string | null;
  /** Rejoins scheduled so far, with their causes, oldest first. */
  reconnects: { cause: ReconnectCause; reason: string; delayMs: number }[];
  peers(): PeerInfo[];
  consumers(): ConsumerSummary[];
  inboundStats(): Promise<InboundStats>;
  iceRoutes(): Promise<{ send: IceRoute | null; recv: IceRoute | null }>;
  chatLog: ChatEntry[];
}

declare global {
  interface Window {
    __octomesh?: OctomeshHook;
  }
}

/** What went wrong, in words for the person in the call (the SDK's reason is for logs). */
const CAUSE_TEXT: Record<ReconnectCause, string> = {
  media: 'Connected to the server, but audio and video cannot get through: a firewall, VPN or this network may be blocking WebRTC (UDP).',
  connection: 'The connection to the server was lost.',
  server: 'The server is moving this call.',
  unreachable: 'Cannot reach a server for this call.',
  refused: 'The server could not take this call just now.',
  router: 'Cannot get a server for this call: the service may be down or this network may block it.',
};

// Same rule as the protocol's RoomName, checked here to give a readable message before joining.
const ROOM_RE = /^[\p{L}\p{N}_.~-]{1,128}$/u;

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`index.html lacks #${id}`);
  return node as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function cleanName(raw: string): string {
  return raw.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 64);
}

function showView(id: 'join-view' | 'call-view' | 'left-view'): void {
  for (const view of ['join-view', 'call-view', 'left-view']) byId(view).hidden = view !== id;
}

function showJoinForm(params: URLSearchParams, error = ''): void {
  showView('join-view');
  const form = byId<HTMLFormElement>('join-form');
  const roomInput = byId<HTMLInputElement>('join-room');
  const nameInput = byId<HTMLInputElement>('join-name');
  const errorBox = byId('join-error');
  roomInput.value = params.get('room') ?? '';
  nameInput.value = params.get('name') ?? '';
  errorBox.textContent = error;
  (roomInput.value ? nameInput : roomInput).focus();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const room = roomInput.value.trim();
    const name = cleanName(nameInput.value);
    if (!ROOM_RE.test(room)) {
      errorBox.textContent = 'Room: letters, digits and _ . ~ - only (up to 128).';
      return;
    }
    if (!name) {
      errorBox.textContent = 'Please enter your name.';
      return;
    }
    const next = new URLSearchParams({ room, name });
    const region = params.get('region');
    if (region) next.set('region', region);
    for (const key of ['token', 'iceTransportPolicy']) {
      const value = params.get(key);
      if (value) next.set(key, value);
    }
    location.assign(`${location.pathname}?${next.toString()}`);
  });
}

interface Tile {
  root: HTMLDivElement;
  video: HTMLVideoElement;
  name: HTMLSpanElement;
  region: HTMLSpanElement;
  micOff: HTMLSpanElement;
  videoConsumerId: string | null;
}

function makeTile(displayName: string, region: string, local: boolean): Tile {
  const root = el('div', local ? 'tile local no-video' : 'tile no-video');
  const video = el('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // sound goes through <audio>; a muted video may autoplay everywhere
  const label = el('div', 'label');
  const name = el('span', 'name', displayName);
  const regionSpan = el('span', 'region', region);
  const micOff = el('span', 'mic-off', 'muted');
  micOff.hidden = true;
  label.append(name, regionSpan, micOff);
  root.append(video, el('div', 'placeholder', 'camera off'), label);
  return { root, video, name, region: regionSpan, micOff, videoConsumerId: null };
}

type ExtraJoinOptions = Pick<JoinOptions, 'region' | 'token' | 'iceTransportPolicy' | 'relayJitter'>;

function startCall(room: string, displayName: string, extra: ExtraJoinOptions): void {
  showView('call-view');
  document.title = `${room} · octomesh`;
  byId('room-name').textContent = room;
  const badge = byId('badge');
  const grid = byId('grid');
  const audioSink = byId('audio-sink');
  const micBtn = byId<HTMLButtonElement>('mic-btn');
  const camBtn = byId<HTMLButtonElement>('cam-btn');
  const soundBtn = byId<HTMLButtonElement>('sound-btn');
  const chatList = byId('chat-list');
  const chatInput = byId<HTMLInputElement>('chat-input');

  const client = new OctomeshClient();
  const hook: OctomeshHook = {
    client,
    state: 'joining',
    region: null,
    nodeId: null,
    peerId: null,
    route: null,
    notice: null,
    reconnects: [],
    peers: () => client.peers.map((p) => ({ ...p })),
    consumers: () => client.consumers.map((c) => ({
      consumerId: c.consumerId, producerId: c.producerId, peerId: c.peerId, kind: c.kind,
      currentLayers: c.currentLayers ? { ...c.currentLayers } : null,
    })),
    inboundStats: () => inboundStats(client),
    iceRoutes: async () => ({ send: iceRoute(await client.getSendStats()), recv: iceRoute(await client.getRecvStats()) }),
    chatLog: [],
  };
  window.__octomesh = hook;

  const local = makeTile(`${displayName} (you)`, '', true);
  grid.append(local.root);
  const tiles = new Map<string, Tile>();
  const audios = new Map<string, HTMLAudioElement>();

  const noticeBox = byId('call-notice');
  const setNotice = (text: string | null): void => {
    hook.notice = text;
    noticeBox.textContent = text ?? '';
    noticeBox.hidden = text === null;
  };
  /** The cause of the last rejoin, until a session proves healthy. */
  let troubled: ReconnectCause | null = null;
  const setBadge = (text: string, cls: string): void => {
    badge.textContent = text;
    badge.className = `badge ${cls}`;
  };
  const tileFor = (peerId: string): Tile => {
    let tile = tiles.get(peerId);
    if (!tile) {
      // Media can arrive for a peer announced a moment later (another region); name it then.
      const peer = client.peers.find((p) => p.peerId === peerId);
      tile = makeTile(peer?.displayName ?? '…', peer?.region ?? '', false);
      tiles.set(peerId, tile);
      grid.append(tile.root);
    }
    return tile;
  };
  const renderButtons = (): void => {
    const { audio, video } = client.localMedia;
    micBtn.disabled = !audio;
    camBtn.disabled = !video;
    micBtn.textContent = !audio ? 'No mic' : client.micEnabled ? 'Mute mic' : 'Unmute mic';
    camBtn.textContent = !video ? 'No camera' : client.cameraEnabled ? 'Stop camera' : 'Start camera';
    micBtn.setAttribute('aria-pressed', String(!client.micEnabled));
    camBtn.setAttribute('aria-pressed', String(!client.cameraEnabled));
    local.root.classList.toggle('no-video', !video || !client.cameraEnabled);
    local.micOff.hidden = !audio || client.micEnabled;
  };
  const play = (media: HTMLMediaElement): void => {
    // Autoplay with sound needs a user gesture in some browsers; offer one button for all.
    media.play().catch(() => { if (media instanceof HTMLAudioElement) soundBtn.hidden = false; });
  };
  const addChat = (msg: ChatMessage, self: boolean): void => {
    hook.chatLog.push({ ...msg, self });
    const li = el('li', self ? 'me' : '');
    const time = el('time', '', new Date(msg.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    time.dateTime = new Date(msg.ts).toISOString();
    li.append(el('span', 'who', msg.displayName), el('span', 'text', msg.text), time);
    chatList.append(li);
    chatList.scrollTop = chatList.scrollHeight;
  };
  const setState = (state: AppState, error?: unknown): void => {
    hook.state = state;
    if (error !== undefined) {
      hook.error = error instanceof Error ? error.message : String(error);
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string') hook.errorCode = code;
      else delete hook.errorCode;
    }
    if (state === 'joining') setBadge('connecting…', 'joining');
    else if (state === 'reconnecting') setBadge('reconnecting…', 'reconnecting');
    else if (state === 'error') setBadge(`error: ${hook.error ?? 'unknown'}`, 'error');
    else if (state === 'left') setBadge('left', '');
  };

  // The regions this room spans right now: ours plus every peer's (the cascade's extent).
  const spans = byId('room-regions');
  const map = new RegionMap();
  byId('map-slot').append(map.root);
  const renderSpans = (): void => {
    const regions = new Set<string>(client.peers.map((p) => p.region));
    if (hook.region) regions.add(hook.region);
    spans.textContent = regions.size ? `spans ${[...regions].sort().join(' · ')}` : '';
    map.render(hook.region, regions);
  };
  // The map is a nicety: a cluster without /api/regions just shows no dots.
  fetch('/api/regions')
    .then((r) => (r.ok ? (r.json() as Promise<{ regions: MapRegion[] }>) : { regions: [] }))
    .then((body) => {
      map.setRegions(body.regions);
      renderSpans();
    })
    .catch(() => undefined);
  client.on('state', (s) => { if (s !== 'idle' && s !== 'joined') setState(s); });
  client.on('reconnecting', ({ cause, reason, attempt, delayMs }) => {
    hook.reconnects.push({ cause, reason, delayMs });
    troubled = cause;
    const when = delayMs < 1000 ? 'now' : `in ${Math.round(delayMs / 1000)} s`;
    setNotice(`${CAUSE_TEXT[cause]} Trying again ${when}${attempt > 1 ? ` (attempt ${attempt})` : ''}.`);
    console.warn(`octomesh: rejoining (${reason})`);
  });
  client.on('healthy', () => {
    troubled = null;
    setNotice(null);
  });
  client.on('joined', (self) => {
    Object.assign(hook, { region: self.region, nodeId: self.nodeId, peerId: self.peerId, route: self.route ?? null });
    delete hook.error;
    delete hook.errorCode;
    setState('joined');
    setBadge(`${self.region} · ${self.nodeId}`, 'joined');
    // Joining worked before too when media could not get through: say so until media flows.
    if (troubled === 'media') setNotice(`${CAUSE_TEXT.media} Rejoined; checking again.`);
    else setNotice(null);
    local.region.textContent = self.region;
    renderSpans();
  });
  client.on('error', (err) => {
    setNotice(null);
    setState('error', err);
  });
  client.on('localMedia', ({ video }) => {
    local.video.srcObject = video ? new MediaStream([video]) : null;
    if (video) play(local.video);
    renderButtons();
  });
  client.on('peerJoined', (peer) => {
    const tile = tileFor(peer.peerId);
    tile.name.textContent = peer.displayName;
    tile.region.textContent = peer.region;
    renderSpans();
  });
  client.on('peerLeft', (peer) => {
    tiles.get(peer.peerId)?.root.remove();
    tiles.delete(peer.peerId);
    renderSpans();
  });
  const showMedia = (m: RemoteMedia): void => {
    const tile = tileFor(m.peerId);
    if (m.kind === 'video') tile.root.classList.toggle('no-video', m.producerPaused);
    else tile.micOff.hidden = !m.producerPaused;
  };
  client.on('consumer', (m) => {
    if (m.kind === 'video') {
      const tile = tileFor(m.peerId);
      tile.videoConsumerId = m.consumerId;
      tile.video.srcObject = new MediaStream([m.track]);
      // Adaptive stream (#12): the tile's size picks the layer; off screen or hidden tab pauses it.
      client.attachVideo(m.consumerId, tile.video);
      play(tile.video);
    } else {
      const audio = el('audio');
      audio.autoplay = true;
      audio.srcObject = new MediaStream([m.track]);
      audios.set(m.consumerId, audio);
      audioSink.append(audio);
      play(audio);
    }
    showMedia(m);
  });
  client.on('consumerUpdated', showMedia);
  client.on('consumerClosed', (m) => {
    const tile = tiles.get(m.peerId);
    if (m.kind === 'video' && tile?.videoConsumerId === m.consumerId) {
      tile.video.srcObject = null;
      tile.videoConsumerId = null;
      tile.root.classList.add('no-video');
    }
    if (m.kind === 'audio' && tile) tile.micOff.hidden = true;
    audios.get(m.consumerId)?.remove();
    audios.delete(m.consumerId);
  });
  client.on('activeSpeaker', (peerId) => {
    for (const [id, tile] of tiles) tile.root.classList.toggle('speaking', id === peerId);
    local.root.classList.toggle('speaking', peerId !== null && peerId === client.self?.peerId);
  });
  client.on('chat', (msg) => addChat(msg, msg.peerId === client.self?.peerId));

  followLastN(client, { page: () => [...tiles.keys()], tiles: () => [...tiles].map(([id, t]) => [id, t.root]) }); // #12
  client.on('left', () => {
    setState('left');
    showView('left-view');
    byId<HTMLAnchorElement>('rejoin-link').href = location.href;
  });

  micBtn.addEventListener('click', () => {
    client.setMicEnabled(!client.micEnabled).catch((err: unknown) => console.warn('octomesh: mic toggle', err));
    renderButtons();
  });
  camBtn.addEventListener('click', () => {
    client.setCameraEnabled(!client.cameraEnabled).catch((err: unknown) => console.warn('octomesh: camera toggle', err));
    renderButtons();
  });
  soundBtn.addEventListener('click', () => {
    soundBtn.hidden = true;
    for (const audio of audios.values()) play(audio);
  });
  byId('leave-btn').addEventListener('click', () => void client.leave());
  byId<HTMLFormElement>('chat-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = chatInput.value;
    if (!text.trim()) return;
    chatInput.value = '';
    client.sendChat(text).catch((err: unknown) => {
      chatInput.value ||= text; // keep what was typed so it can be sent again
      console.warn('octomesh: chat not sent', err);
    });
  });
  window.addEventListener('pagehide', () => void client.leave());

  renderButtons();
  setState('joining');
  client.join({ room, displayName, ...extra }).catch((err: unknown) => {
    if (client.state === 'error') setState('error', err);
  });
}

/** Sums over every inbound RTP stream of the receiving PeerConnection (frameWidth: the widest). */
async function inboundStats(client: OctomeshClient): Promise<InboundStats> {
  const out: InboundStats = { audio: { packets: 0, bytes: 0 }, video: { framesDecoded: 0, bytes: 0, frameWidth: 0 } };
  const report = await client.getRecvStats();
  report?.forEach((s: Partial<RTCInboundRtpStreamStats> & { type: string }) => {
    if (s.type !== 'inbound-rtp') return;
    if (s.kind === 'audio') {
      out.audio.packets += s.packetsReceived ?? 0;
      out.audio.bytes += s.bytesReceived ?? 0;
    } else if (s.kind === 'video') {
      out.video.framesDecoded += s.framesDecoded ?? 0;
      out.video.bytes += s.bytesReceived ?? 0;
      out.video.frameWidth = Math.max(out.video.frameWidth, s.frameWidth ?? 0);
    }
  });
  return out;
}

function iceRoute(report: RTCStatsReport | null): IceRoute | null {
  let pairId: string | undefined;
  report?.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId ? (report!.get(pairId) as RTCIceCandidatePairStats | undefined) : undefined;
  if (!pair) return null;
  const local = report!.get(pair.localCandidateId) as { candidateType?: string; relayProtocol?: string } | undefined;
  const remote = report!.get(pair.remoteCandidateId) as { candidateType?: string } | undefined;
  return { local: local?.candidateType ?? '', remote: remote?.candidateType ?? '', relayProtocol: local?.relayProtocol ?? null };
}

function main(): void {
  const params = new URLSearchParams(location.search);
  const room = (params.get('room') ?? '').trim();
  if (!room) return showJoinForm(params);
  if (!ROOM_RE.test(room)) return showJoinForm(params, 'Room: letters, digits and _ . ~ - only (up to 128).');
  const name = cleanName(params.get('name') ?? '') || `Guest ${Math.floor(1000 + Math.random() * 9000)}`;
  const extra: ExtraJoinOptions = {};
  const region = params.get('region');
  const token = params.get('token');
  const policy = params.get('iceTransportPolicy');
  if (region) extra.region = region;
  if (token) extra.token = token;
  if (policy === 'relay' || policy === 'all') extra.iceTransportPolicy = policy;
  const rounds = Number(params.get('relayJitterRounds'));
  if (params.get('relayJitter') === '0') extra.relayJitter = false;
  else if (rounds >= 1 && rounds <= 3) extra.relayJitter = { repairRounds: rounds };
  startCall(room, name, extra);
}

main();
