import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { reachableAddresses } from '../../core/addresses.js';
import { runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/node.js';
import { freePort } from '../helpers/ports.js';

// `octomesh region-node` listening on 0.0.0.0 with no public address configured, as the issue
// found it: it must advertise this host's one reachable address, or refuse to start naming the
// keys, never 127.0.0.1. Which of the two depends on this machine's interfaces, read here the same
// way. Nothing connects to the derived address: the test reads what the node says.

describe('a region node on a wildcard address', () => {
  it('advertises the host address or refuses with one line naming the keys', async () => {
    const found = reachableAddresses(networkInterfaces(), false);
    const port = await freePort();
    const node = runCli(
      ['region-node', '--http-host', '0.0.0.0', '--listen-ip', '0.0.0.0', '--relay-host', '0.0.0.0', '--http-port', String(port), '--rtc-port', String(await freePort()), '--relay-port', String(await freePort()), '--workers', '1'],
      { OCTOMESH_LOG_LEVEL: 'info', OCTOMESH_LOG_PRETTY: 'false' },
    );
    try {
      if (found.length === 1) {
        const address = found[0]!.address;
        // The start log's last line: the page to open.
        await eventually(() => node.output().includes(`open http://${address}:${port}/`), `node started (output: ${node.output()})`, 30_000);
        const listening = node.output().split('\n').find((l) => l.includes('"msg":"region node listening"'));
        assert.ok(listening, node.output());
        const fields = JSON.parse(listening) as { url: string; ws: string; relay: string };
        assert.equal(fields.ws, `ws://${address}:${port}/ws`);
        assert.match(fields.relay, new RegExp(`^${address.replace(/\./g, '\\.')}:\\d+$`));
        assert.equal(fields.url, `http://${address}:${port}/?room=demo&name=you`);
        assert.ok(node.output().includes(`advertising ${address}`), 'the log says which address was chosen');
        assert.ok(!/127\.0\.0\.1|0\.0\.0\.0:/.test(listening), `nothing on loopback or the wildcard: ${listening}`);
      } else {
        assert.equal(await node.exited, 2, node.output());
        const out = node.output().trim();
        assert.equal(out.split('\n').length, 1, out);
        assert.ok(out.startsWith('octomesh: config: media.announcedAddress, relay.publicAddress, http.publicWsUrl: '), out);
      }
    } finally {
      node.child.kill('SIGTERM');
      await node.exited;
    }
  });
});
