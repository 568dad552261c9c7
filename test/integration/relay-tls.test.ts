import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { LocalRegistry } from '../../core/registry/LocalRegistry.js';
import { RelayDialer } from '../../relay/RelayDialer.js';
import { relayCredentials } from '../../relay/RelayTls.js';
import type { RegionNode } from '../../region-node/RegionNode.js';
import { eventually, joinRoom, startTestNode } from '../helpers/node.js';

/** A CA and certificates made with openssl, as the README tells operators to. */
function makePki(): { dir: string; tls: (name: string) => { cert: string; key: string; ca: string; serverName: string } } {
  const dir = mkdtempSync(path.join(tmpdir(), 'octomesh-pki-'));
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  const ca = (name: string): void => {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`);
  };
  ca('mesh-ca');
  ca('other-ca');
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:octomesh-relay\nextendedKeyUsage=serverAuth,clientAuth\n');
  const leaf = (name: string, signer: string): void => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.crt`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', `${name}.crt`);
  };
  leaf('node-a', 'mesh-ca');
  leaf('node-b', 'mesh-ca');
  leaf('stranger', 'other-ca');
  return {
    dir,
    tls: (name) => ({ cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`), ca: path.join(dir, 'mesh-ca.crt'), serverName: 'octomesh-relay' }),
  };
}

describe('relay over mutual TLS', () => {
  const registry = new LocalRegistry();
  let pki: ReturnType<typeof makePki>;
  let a: RegionNode;
  let b: RegionNode;

  before(async () => {
    pki = makePki();
    a = await startTestNode({ nodeId: 'tls-a', relay: { port: 0, secret: 's', pipeGraceSec: 0.3, tls: pki.tls('node-a') } as never }, { registry });
    b = await startTestNode({ nodeId: 'tls-b', region: 'us-east', relay: { port: 0, secret: 's', pipeGraceSec: 0.3, tls: pki.tls('node-b') } as never }, { registry });
  });

  after(() => {
    a?.close();
    b?.close();
    registry.close();
  });

  it('links two nodes whose certificates the mesh CA signed', async () => {
    const alice = await joinRoom(a, 'tls-room', 'Alice');
    const bob = await joinRoom(b, 'tls-room', 'Bob');
    await bob.client.waitFor('peerJoined', (d) => d.displayName === 'Alice', 10_000);
    await alice.client.waitFor('peerJoined', (d) => d.displayName === 'Bob' && d.region === 'us-east', 10_000);
    await eventually(() => a.rooms().get('tls-room' as never)!.cascade!.links()[0]?.up === true, 'link up');
    alice.client.close();
    bob.client.close();
  });

  const refused = async (dialer: RelayDialer): Promise<grpc.ServiceError> => {
    const stream = dialer.open(a.relayAddress, 'tls-room');
    return new Promise((resolve) => stream.on('error', resolve));
  };

  it('refuses a node whose certificate another CA signed, even with the right secret', async () => {
    const creds = relayCredentials({ ...pki.tls('stranger'), ca: path.join(pki.dir, 'mesh-ca.crt') })!;
    const dialer = new RelayDialer({ secret: 's', selfNode: 'stranger', credentials: creds.client, channelOptions: creds.channelOptions });
    const err = await refused(dialer);
    assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
    dialer.close();
  });

  it('refuses a plaintext caller', async () => {
    const dialer = new RelayDialer({ secret: 's', selfNode: 'plain' });
    const err = await refused(dialer);
    assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
    dialer.close();
  });

  it('names the key of an unreadable certificate file', async () => {
    await assert.rejects(
      startTestNode({ nodeId: 'tls-c', relay: { port: 0, secret: 's', pipeGraceSec: 0.3, tls: { ...pki.tls('node-a'), cert: '/nonexistent.crt' } } as never }),
      (err: Error) => err.name === 'ConfigError' && /relay\.tls\.cert/.test(err.message),
    );
  });
});
