// Run by consul-registry.test.ts as its own process: a whole ConsulRegistry life against a fake
// Consul, shut down as `octomesh region-node` does (deregisterNode not awaited, then close()).
// The process must then exit by itself: any timer, socket or request left behind keeps it up.
import { asNodeId, asRoomId } from '../../core/ids.js';
import { FakeConsul } from './fakeConsul.js';
import { eventually, quickRegistry, testRecord } from './fakeConsulTools.js';

const fake = await FakeConsul.start();
const reg = quickRegistry(fake.url);
const id = asNodeId('child-node');
await reg.registerNode(testRecord(id));
let seen = 0;
reg.watchNodes(() => seen++);
reg.watchRoom(asRoomId('r'), () => seen++);
await reg.addRoomPresence(asRoomId('r'), id);
await reg.updateNode(id, { draining: true });
await eventually(() => seen >= 2, 'watch callbacks');

void reg.deregisterNode(id).catch((err: Error) => console.error('deregister failed', err));
reg.close();
await eventually(() => fake.requestsTo(`/v1/agent/service/deregister/${id}`).length === 1 && !fake.service(id), 'deregistered');
await fake.close();
console.log('scenario done');
