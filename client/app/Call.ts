import { OctomeshClient, type JoinOptions, type RemoteMedia } from '../sdk/OctomeshClient.js';
import { canShareScreen } from '../sdk/screenShare.js';
import { setupChat } from './Chat.js';
import { applySpeaker, type DeviceChoice } from './DevicePicker.js';
import { byId, el, showView } from './dom.js';
import { iceRoute, inboundStats, videoStats, type OctomeshHook } from './hook.js';
import { followLastN } from './lastN.js';
import { SPEAKING_LEVEL } from './quality.js';
import { Settings } from './Settings.js';
import { Stage } from './Stage/Stage.js';
import { StatsPoller, type StatsSnapshot } from './StatsPoller.js';
import { Status } from './Status.js';
import { Tile } from './Tile.js';
import { Toolbar } from './Toolbar.js';
import { offVideoTile, onVideoTile } from './videoTiles.js';

// The call: the SDK's events turned into tiles on the stage, the toolbar's actions into SDK
// calls, and a stats poll into each tile's speaking ring and connection bars.

export type ExtraJoinOptions = Pick<JoinOptions, 'region' | 'token' | 'iceTransportPolicy' | 'relayJitter'>;

export interface CallOptions {
  room: string;
  name: string;
  extra: ExtraJoinOptions;
  devices: DeviceChoice;
  micOn: boolean;
  cameraOn: boolean;
}

const cameraTileId = (peerId: string): string => `${peerId}:camera`;
const screenTileId = (peerId: string): string => `${peerId}:screen`;
const LOCAL = 'local';

export function startCall(o: CallOptions): void {
  showView('call-view');
  document.title = `${o.room} · octomesh`;
  byId('room-name').textContent = o.room;
  const audioSink = byId('audio-sink');
  const client = new OctomeshClient();
  const stage = new Stage(byId('stage'));
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
      consumerId: c.consumerId, producerId: c.producerId, peerId: c.peerId, kind: c.kind, source: c.source,
      currentLayers: c.currentLayers ? { ...c.currentLayers } : null,
    })),
    inboundStats: () => inboundStats(client),
    videoStats: () => videoStats(client),
    iceRoutes: async () => ({ send: iceRoute(await client.getSendStats()), recv: iceRoute(await client.getRecvStats()) }),
    chatLog: [],
    layout: () => ({ ...stage.info }),
    tiles: () => stage.tiles.map((t) => t.info()),
  };
  window.__octomesh = hook;
  const status = new Status(client, hook);
  setupChat(client, hook.chatLog);

  const local = new Tile(cameraTileId(LOCAL), LOCAL, 'camera', true);
  local.setName(o.name);
  stage.add(local);
  const audios = new Map<string, HTMLAudioElement>();
  /** Polls in a row that decoded no frame of a tile's video. */
  const stalledPolls = new Map<string, number>();
  let activeSpeaker: string | null = null;
  /** A screen share switched the grid to the speaker view: switch back when the last share ends. */
  let autoSpeaker = false;
  const screenStarted = (): void => {
    if (stage.mode !== 'grid') return;
    autoSpeaker = true;
    stage.setMode('speaker'); // a screen is for reading: large
  };
  const screenEnded = (): void => {
    if (!autoSpeaker || stage.tiles.some((t) => t.source === 'screen')) return;
    autoSpeaker = false;
    if (stage.mode === 'speaker') stage.setMode('grid');
  };

  const peerName = (peerId: string): { name: string; region: string } => {
    const peer = client.peers.find((p) => p.peerId === peerId);
    return { name: peer?.displayName ?? '…', region: peer?.region ?? '' };
  };
  /** Media can arrive for a peer announced a moment later (another region); it is named then. */
  const tileFor = (peerId: string, source: 'camera' | 'screen'): Tile => {
    const id = source === 'camera' ? cameraTileId(peerId) : screenTileId(peerId);
    let tile = stage.tile(id);
    if (!tile) {
      tile = new Tile(id, peerId, source, false);
      const { name, region } = peerName(peerId);
      tile.setName(name);
      tile.setRegion(region);
      tile.setMuted(true); // until its microphone's consumer says otherwise
      stage.add(tile);
    }
    return tile;
  };
  const dropVideo = (tile: Tile): void => {
    if (tile.consumerId) offVideoTile(client, tile.consumerId);
    tile.setTrack(null);
  };
  const removeTile = (id: string): void => {
    const tile = stage.tile(id);
    if (!tile) return;
    dropVideo(tile);
    stalledPolls.delete(id);
    stage.remove(id);
  };

  const toolbar = new Toolbar(byId('toolbar'), {
    toggleMic: () => void client.setMicEnabled(!client.micEnabled).catch((err: unknown) => console.warn('octomesh: mic toggle', err)).finally(render),
    toggleCamera: () => void client.setCameraEnabled(!client.cameraEnabled).catch((err: unknown) => console.warn('octomesh: camera toggle', err)).finally(render),
    toggleScreen: () => {
      const action = client.screenShare ? client.stopScreenShare() : client.startScreenShare();
      action.catch((err: unknown) => {
        // Cancelling the browser's picker is a choice, not an error worth a word.
        if ((err as { name?: string }).name !== 'NotAllowedError') toolbar.toast('Cannot share the screen');
        console.warn('octomesh: screen share', err);
      }).finally(render);
    },
    toggleLayout: () => {
      autoSpeaker = false; // the person chose: leave it
      stage.toggleMode();
      render();
    },
    toggleSettings: () => settings.toggle(),
    enableSound: () => { for (const audio of audios.values()) void audio.play().catch(() => undefined); },
    leave: () => void client.leave(),
  }, inviteUrl(o.room));
  // Last-N: the node hears which peers this page shows (setView) and the tiles of those it does
  // not forward are marked 'not-forwarded' (an avatar).
  const lastN = followLastN(client, stage.lastNView());
  stage.onLayout = () => {
    lastN.viewChanged();
    render();
  };
  let speakerId = o.devices.audiooutput;
  const settings = new Settings(byId('toolbar'), client, (deviceId) => {
    speakerId = deviceId;
    for (const audio of audios.values()) applySpeaker(audio, deviceId);
  }, (text) => toolbar.toast(text));

  function render(): void {
    const { audio, video } = client.localMedia;
    toolbar.render({
      mic: audio ? client.micEnabled : null,
      camera: video ? client.cameraEnabled : null,
      sharing: canShareScreen() ? client.screenShare !== null : null,
      layout: stage.mode,
    });
    local.setVideoPaused(!client.cameraEnabled);
    local.setMuted(!audio || !client.micEnabled);
  }

  const playAudio = (audio: HTMLAudioElement): void => {
    // Autoplay with sound needs a user gesture in some browsers; offer one button for all.
    audio.play().catch(() => toolbar.offerSound());
  };
  const showMedia = (m: RemoteMedia): void => {
    if (m.kind === 'audio') tileFor(m.peerId, 'camera').setMuted(m.producerPaused);
    else tileFor(m.peerId, m.source === 'screen' ? 'screen' : 'camera').setVideoPaused(m.producerPaused);
  };

  client.on('joined', (self) => {
    local.setRegion(self.region);
    for (const peer of client.peers) tileFor(peer.peerId, 'camera');
    showSpeaker(client.activeSpeaker); // someone may have been talking before we came
  });
  client.on('localMedia', ({ video }) => {
    local.setTrack(video);
    render();
  });
  client.on('screenShare', (track) => {
    if (track) {
      const tile = new Tile(screenTileId(LOCAL), LOCAL, 'screen', true);
      tile.setName(o.name);
      tile.setTrack(track);
      stage.add(tile);
      screenStarted();
    } else {
      removeTile(screenTileId(LOCAL));
      screenEnded();
    }
    render();
  });
  client.on('peerJoined', (peer) => {
    const tile = tileFor(peer.peerId, 'camera');
    tile.setName(peer.displayName);
    tile.setRegion(peer.region);
    stage.tile(screenTileId(peer.peerId))?.setName(peer.displayName);
  });
  client.on('peerLeft', (peer) => {
    removeTile(cameraTileId(peer.peerId));
    removeTile(screenTileId(peer.peerId));
    screenEnded();
  });
  client.on('consumer', (m) => {
    if (m.kind === 'video') {
      const screen = m.source === 'screen';
      const tile = tileFor(m.peerId, screen ? 'screen' : 'camera');
      dropVideo(tile);
      tile.setTrack(m.track, m.consumerId);
      onVideoTile(client, m.consumerId, tile.video);
      if (screen) screenStarted();
      stage.schedule();
    } else {
      const audio = el('audio');
      audio.autoplay = true;
      audio.srcObject = new MediaStream([m.track]);
      applySpeaker(audio, speakerId);
      audios.set(m.consumerId, audio);
      audioSink.append(audio);
      playAudio(audio);
    }
    showMedia(m);
  });
  client.on('consumerUpdated', showMedia);
  client.on('consumerClosed', (m) => {
    if (m.kind === 'video') {
      const id = m.source === 'screen' ? screenTileId(m.peerId) : cameraTileId(m.peerId);
      const tile = stage.tile(id);
      if (tile?.consumerId === m.consumerId) {
        if (m.source === 'screen') {
          removeTile(id);
          screenEnded();
        } else {
          dropVideo(tile);
        }
      }
    } else {
      stage.tile(cameraTileId(m.peerId))?.setMuted(true);
    }
    audios.get(m.consumerId)?.remove();
    audios.delete(m.consumerId);
  });
  client.on('activeSpeaker', (peerId) => showSpeaker(peerId));
  function showSpeaker(peerId: string | null): void {
    activeSpeaker = peerId;
    const mine = peerId !== null && peerId === client.self?.peerId;
    stage.setActiveSpeaker(peerId === null ? null : cameraTileId(mine ? LOCAL : peerId));
    for (const tile of stage.tiles) if (tile.source === 'camera') tile.setSpeaking(tile.peerId === (mine ? LOCAL : peerId));
  }
  client.on('left', () => {
    status.setState('left');
    poller.close();
    toolbar.close();
    settings.close();
    showView('left-view');
    byId<HTMLAnchorElement>('rejoin-link').href = location.href;
  });

  const poller = new StatsPoller(client, (snap) => showStats(snap));
  function showStats(snap: StatsSnapshot): void {
    const media = client.consumers;
    for (const tile of stage.tiles) {
      if (tile.local) {
        if (tile.source === 'camera') {
          const level = client.micEnabled ? snap.localAudioLevel ?? 0 : 0;
          tile.setSpeaking(activeSpeaker === client.self?.peerId || level > SPEAKING_LEVEL);
        }
        tile.setQuality({ rttMs: snap.sendRttMs, lossPct: snap.sendLossPct });
        continue;
      }
      const mine = media.filter((m) => m.peerId === tile.peerId && (tile.source === 'screen' ? m.source === 'screen' : m.source !== 'screen'));
      const figures = mine.map((m) => ({ m, f: snap.tracks.get(m.track.id) }));
      const losses = figures.map(({ f }) => f?.lossPct).filter((x): x is number => typeof x === 'number');
      const relay = Math.max(0, ...mine.map((m) => m.relayRttMs ?? 0));
      const rttMs = snap.recvRttMs === null ? null : snap.recvRttMs + relay;
      tile.setQuality({ rttMs, lossPct: losses.length ? Math.max(...losses) : null });
      const video = figures.find(({ m }) => m.kind === 'video');
      // Two polls without a decoded frame: not a hiccup.
      const idle = video?.f?.framesDecoded === 0;
      tile.setStalled(idle && (stalledPolls.get(tile.id) ?? 0) >= 1);
      stalledPolls.set(tile.id, idle ? (stalledPolls.get(tile.id) ?? 0) + 1 : 0);
      if (tile.source === 'camera') {
        const level = figures.find(({ m }) => m.kind === 'audio')?.f?.audioLevel ?? 0;
        tile.setSpeaking(activeSpeaker === tile.peerId || level > SPEAKING_LEVEL);
      }
    }
  }

  window.addEventListener('pagehide', () => void client.leave());
  window.addEventListener('resize', () => stage.schedule());
  status.setState('joining');
  render();
  const join = async (): Promise<void> => {
    if (!o.micOn) await client.setMicEnabled(false);
    if (!o.cameraOn) await client.setCameraEnabled(false);
    render();
    await client.join({
      room: o.room, displayName: o.name, ...o.extra,
      ...(o.devices.videoinput ? { videoDeviceId: o.devices.videoinput } : {}),
      ...(o.devices.audioinput ? { audioDeviceId: o.devices.audioinput } : {}),
    });
  };
  join().catch((err: unknown) => {
    if (client.state === 'error') status.setState('error', err);
  });
}

/** The link others open to join: this page with the room only (each person picks a name). */
function inviteUrl(room: string): string {
  const url = new URL(location.pathname, location.origin);
  url.searchParams.set('room', room);
  return url.href;
}
