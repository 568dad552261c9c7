import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
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

/** An HTTP/2 client's connection preface and an empty SETTINGS frame. */
const H2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

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

  // gRPC reports every refusal at the TLS layer as UNAVAILABLE, as it does a stopped server; so
  // the reason is read one layer down, from what A's TLS endpoint itself answers.
  const relayPort = (): number => Number(a.relayAddress.split(':').pop());

  it('refuses a node whose certificate another CA signed, even with the right secret', async () => {
    const creds = relayCredentials({ ...pki.tls('stranger'), ca: path.join(pki.dir, 'mesh-ca.crt') })!;
    const dialer = new RelayDialer({ secret: 's', selfNode: 'stranger', credentials: creds.client, channelOptions: creds.channelOptions });
    const err = await refused(dialer);
    assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
    dialer.close();
    // The reason: A's TLS endpoint drops a client whose certificate the mesh CA did not sign
    // before any HTTP/2 (TLS 1.3 checks the client's certificate after the handshake), and
    // answers the same preface with HTTP/2 SETTINGS for a member of the mesh.
    assert.equal(await h2AnswerWith('stranger'), 'dropped before HTTP/2');
    assert.equal(await h2AnswerWith('node-b'), 'HTTP/2 SETTINGS');
  });

  /** Opens TLS to A's relay with `name`'s certificate and sends the HTTP/2 preface: what comes back? */
  async function h2AnswerWith(name: string): Promise<string> {
    const files = pki.tls(name);
    return new Promise<string>((resolve) => {
      const sock = tls.connect({ host: '127.0.0.1', port: relayPort(), cert: readFileSync(files.cert), key: readFileSync(files.key), ca: readFileSync(path.join(pki.dir, 'mesh-ca.crt')), servername: 'octomesh-relay', ALPNProtocols: ['h2'] });
      sock.on('secureConnect', () => sock.write(H2_PREFACE));
      sock.on('data', (d: Buffer) => {
        resolve(d.length >= 9 && d[3] === 4 ? 'HTTP/2 SETTINGS' : `unexpected ${d.subarray(0, 9).toString('hex')}`);
        sock.destroy();
      });
      sock.on('error', (e) => resolve(`error: ${e.message}`));
      sock.on('close', () => resolve('dropped before HTTP/2'));
    });
  }

  it('refuses a plaintext caller', async () => {
    const dialer = new RelayDialer({ secret: 's', selfNode: 'plain' });
    const err = await refused(dialer);
    assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
    dialer.close();
    // The reason: A speaks TLS only. A plaintext HTTP/2 client's preface gets no HTTP/2 SETTINGS
    // frame back, only the connection closed (or a TLS alert record, type 21).
    const answer = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const sock = net.connect(relayPort(), '127.0.0.1', () => sock.write(H2_PREFACE));
      sock.on('data', (d) => chunks.push(d));
      sock.on('error', () => undefined);
      sock.on('close', () => resolve(Buffer.concat(chunks)));
    });
    assert.ok(answer.length === 0 || answer[0] === 21, `A answered plaintext HTTP/2 with ${answer.subarray(0, 16).toString('hex')}`);
    // And A is up: a member of the mesh links, so the refusals above were A's, not a dead port.
    const creds = relayCredentials(pki.tls('node-b'))!;
    const member = new RelayDialer({ secret: 's', selfNode: 'tls-b', credentials: creds.client, channelOptions: creds.channelOptions });
    const stream = member.open(a.relayAddress, 'no-such-room');
    const err2 = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    assert.equal(err2.code, grpc.status.NOT_FOUND, `a mesh member reaches A's relay service (${err2.message})`);
    member.close();
  });

  it('names the key of an unreadable certificate file', async () => {
    await assert.rejects(
      startTestNode({ nodeId: 'tls-c', relay: { port: 0, secret: 's', pipeGraceSec: 0.3, tls: { ...pki.tls('node-a'), cert: '/nonexistent.crt' } } as never }),
      (err: Error) => err.name === 'ConfigError' && /relay\.tls\.cert/.test(err.message),
    );
  });
});
