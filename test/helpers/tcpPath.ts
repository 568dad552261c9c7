import net from 'node:net';

/**
 * A TCP path on loopback that can be cut for a while, as a WAN path that drops every packet
 * (not one that refuses): while cut, nothing crosses and connections hang. What the kernels at
 * both ends would do is emulated from when the cut began: bytes held back cross at the first
 * TCP retransmission after the path returns (RTO `rtoMs`, doubling), and a connection opened
 * while cut is let through at its first SYN resend after the path returns (1 s, then 3, 7, 15 s
 * after it was opened), unless its caller gave up first.
 */
export async function startTcpPath(target: () => { host: string; port: number }, rtoMs = 420): Promise<{
  port: number;
  cut(): void;
  restore(): void;
  close(): void;
}> {
  let cutAt: number | undefined;
  const sockets = new Set<net.Socket>();
  const onRestore: ((restoredAt: number) => void)[] = [];
  /** The first instant of `k -> start + f(k)` not before `at`. */
  const firstAfter = (start: number, at: number, f: (k: number) => number): number => {
    for (let k = 0; ; k++) if (start + f(k) >= at) return start + f(k);
  };

  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    client.pause();
    const openedAt = performance.now();
    const connect = (): void => {
      if (client.destroyed) return;
      const up = net.connect(target());
      sockets.add(up);
      up.on('close', () => {
        sockets.delete(up);
        client.destroy();
      });
      up.on('error', () => undefined);
      client.on('close', () => up.destroy());
      forward(client, up);
      forward(up, client);
      client.resume();
    };
    if (cutAt === undefined) connect();
    else {
      // The SYN was lost: the caller's kernel resends it 1, 3, 7, 15 s after the connect.
      onRestore.push((at) => setTimeout(connect, firstAfter(openedAt, at, (k) => 1000 * (2 ** (k + 1) - 1)) - at).unref());
    }
  });

  function forward(from: net.Socket, to: net.Socket): void {
    const held: Buffer[] = [];
    from.on('data', (chunk: Buffer) => {
      if (cutAt === undefined && held.length === 0) {
        to.write(chunk);
        return;
      }
      held.push(chunk);
      if (held.length > 1) return;
      const start = cutAt ?? performance.now();
      // Resent by TCP at start + RTO, + 3 RTO, + 7 RTO, ...: the first resend after the path is back.
      onRestore.push((at) =>
        setTimeout(() => {
          for (const c of held.splice(0)) if (!to.destroyed) to.write(c);
        }, firstAfter(start, at, (k) => rtoMs * (2 ** (k + 1) - 1)) - at).unref(),
      );
    });
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      cutAt ??= performance.now();
    },
    restore() {
      if (cutAt === undefined) return;
      cutAt = undefined;
      const at = performance.now();
      for (const f of onRestore.splice(0)) f(at);
    },
    close() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}
