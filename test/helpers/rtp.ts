import dgram from 'node:dgram';

/** Minimal RTP sender: `burst` packets (default 1) every `intervalMs` with a growing sequence number. */
export function startRtpSender(
  target: { ip: string; port: number },
  opts: { ssrc: number; payloadType: number; intervalMs?: number; size?: number; burst?: number; /** Adds ssrc-audio-level (RFC 6464) under this one-byte extension id: a loud voice. */ audioLevelExtId?: number },
): { stop: () => void; sent: () => number } {
  const sock = dgram.createSocket('udp4');
  let seq = 0;
  let sent = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < (opts.burst ?? 1); i++) send();
  }, opts.intervalMs ?? 20);
  const send = (): void => {
    const h = Buffer.alloc(12);
    h[0] = 0x80;
    h[1] = opts.payloadType & 0x7f;
    h.writeUInt16BE(seq++ & 0xffff, 2);
    h.writeUInt32BE((seq * 960) >>> 0, 4);
    h.writeUInt32BE(opts.ssrc >>> 0, 8);
    const parts = [h];
    if (opts.audioLevelExtId !== undefined) {
      h[0] = 0x90; // X bit: one-byte header extensions follow (RFC 8285)
      // 0xBEDE, one word: id/len (len 0 = 1 byte), voice activity + level 10 dBov below full scale.
      parts.push(Buffer.from([0xbe, 0xde, 0x00, 0x01, (opts.audioLevelExtId << 4) | 0, 0x80 | 10, 0, 0]));
    }
    parts.push(Buffer.alloc(opts.size ?? 160, 0x55));
    sock.send(Buffer.concat(parts), target.port, target.ip);
    sent++;
  };
  return {
    stop: () => {
      clearInterval(timer);
      sock.close();
    },
    sent: () => sent,
  };
}

/** A UDP socket that counts RTP packets by SSRC (RTCP is told apart by its payload type byte). */
export async function startRtpSink(): Promise<{ port: number; count: (ssrc?: number) => number; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  const counts = new Map<number, number>();
  sock.on('message', (msg) => {
    if (msg.length < 12) return;
    const pt = msg[1]! & 0x7f;
    if (pt >= 72 && pt <= 76) return; // RTCP (SR/RR/SDES/BYE/APP) on the muxed port
    const ssrc = msg.readUInt32BE(8);
    counts.set(ssrc, (counts.get(ssrc) ?? 0) + 1);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return {
    port: sock.address().port,
    count: (ssrc) => (ssrc === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : counts.get(ssrc) ?? 0),
    close: () => sock.close(),
  };
}
