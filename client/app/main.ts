import { startCall, type ExtraJoinOptions } from './Call.js';
import { rememberedDevices } from './DevicePicker.js';
import { cleanName, ROOM_RE, ROOM_RULE } from './dom.js';
import { preJoin } from './PreJoin.js';

// The web app: `/?room=R&name=N[&region=X][&token=T][&iceTransportPolicy=relay]` joins at once
// (tests and bots rely on it); anything else shows the pre-join screen first.

function joinOptions(params: URLSearchParams): ExtraJoinOptions {
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
  return extra;
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const room = (params.get('room') ?? '').trim();
  const name = cleanName(params.get('name') ?? '');
  const extra = joinOptions(params);
  if (room && ROOM_RE.test(room) && name) {
    startCall({ room, name, extra, devices: rememberedDevices(), micOn: true, cameraOn: true });
    return;
  }
  const choice = await preJoin(params, room && !ROOM_RE.test(room) ? ROOM_RULE : '');
  // The address now names the room (a reload comes back to the pre-join screen of the same room).
  const next = new URLSearchParams(params);
  next.set('room', choice.room);
  next.delete('name');
  history.replaceState(null, '', `${location.pathname}?${next.toString()}`);
  startCall({ ...choice, extra });
}

void main();
