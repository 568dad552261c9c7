import { FakeConsul } from '../helpers/fakeConsul.js';

// The lab's Consul: the tests' fake agent, as its own process on the front host
// (`node consulHost.js ADDRESS PORT`). No Consul server exists for these machines; the fake
// speaks the HTTP API ConsulRegistry uses (KV, sessions, TTL checks, blocking queries).

const [host = '127.0.0.1', port = '8500'] = process.argv.slice(2);
const fake = await FakeConsul.start({ host, port: Number(port) });
process.stdout.write(`ready ${fake.url}\n`);
const stop = (): void => void fake.close().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
