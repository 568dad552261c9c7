// A forked child that drives an IpcRegistry on behalf of test/integration/ipc-registry.test.ts:
// the test sends commands ({id, cmd, ...}) on the same IPC channel the registry uses, and the
// child answers ({reply: id, ok, value|error}) and reports watch callbacks ({event, ...}).
import type { NodeId, RoomId } from '../../core/ids.js';
import { IpcRegistry } from '../../core/registry/IpcRegistry.js';
import type { NodeRecord, Unsubscribe } from '../../core/registry/Registry.js';

interface Command {
  id: number;
  cmd: string;
  record?: NodeRecord;
  node?: NodeId;
  room?: RoomId;
  patch?: Partial<Pick<NodeRecord, 'load' | 'draining'>>;
}

const registry = new IpcRegistry(process, { timeoutMs: Number(process.env.REGISTRY_TIMEOUT_MS) || 5000 });
const send = (m: object): void => void process.send?.(m);
const roomWatches = new Map<string, Unsubscribe>();
let nodeWatch: Unsubscribe | undefined;

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'register':
      return registry.registerNode(c.record!);
    case 'update':
      return registry.updateNode(c.node!, c.patch!);
    case 'deregister':
      return registry.deregisterNode(c.node!);
    case 'nodes':
      return registry.nodes();
    case 'addRoom':
      return registry.addRoomPresence(c.room!, c.node!);
    case 'removeRoom':
      return registry.removeRoomPresence(c.room!, c.node!);
    case 'roomNodes':
      return registry.roomNodes(c.room!);
    case 'watchRoom':
      roomWatches.set(c.room!, registry.watchRoom(c.room!, (nodes) => send({ event: 'room', room: c.room, nodes })));
      return undefined;
    case 'unwatchRoom':
      roomWatches.get(c.room!)?.();
      roomWatches.delete(c.room!);
      return undefined;
    case 'watchNodes':
      nodeWatch = registry.watchNodes((nodes) => send({ event: 'nodes', nodes }));
      return undefined;
    case 'unwatchNodes':
      nodeWatch?.();
      return undefined;
    case 'close':
      // After this nothing holds the channel: the process must exit by itself.
      registry.close();
      process.off('message', onCommand);
      return undefined;
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

function onCommand(m: unknown): void {
  const c = m as Command;
  if (typeof c !== 'object' || c === null || typeof c.cmd !== 'string') return;
  handle(c).then(
    (value) => send({ reply: c.id, ok: true, value }),
    (err: Error) => send({ reply: c.id, ok: false, error: err.message }),
  );
}

process.on('message', onCommand);
send({ event: 'ready' });
