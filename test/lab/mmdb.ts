// A minimal MaxMind DB (mmdb, format 2.0) writer: just enough for the lab to give its private
// addresses a place (DB-IP's flat City record), so the real geo-router routes them. IPv4 only,
// 24-bit records, maps of strings and doubles. The layout, from the MaxMind DB spec: a binary
// search tree over the address bits (node i = two 3-byte records: "bit 0" and "bit 1"), 16 zero
// bytes, the data section, then "\xAB\xCD\xEFMaxMind.com" and a metadata map.

export type MmdbValue = string | number | { [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** Dotted IPv4 address of the network. */
  address: string;
  prefix: number;
  record: { [key: string]: MmdbValue };
}

const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')]);

function ipv4Bits(address: string): number {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new TypeError(`mmdb: not an IPv4 address: ${address}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** Control byte(s) for a type and payload size. Types 1-7 fit the control byte; others are "extended". */
function control(type: number, size: number): Buffer {
  const head: number[] = [];
  let sizeBits: number;
  const tail: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 285) {
    sizeBits = 29;
    tail.push(size - 29);
  } else if (size < 65_821) {
    sizeBits = 30;
    const n = size - 285;
    tail.push(n >> 8, n & 0xff);
  } else throw new RangeError('mmdb: value too large');
  if (type <= 7) head.push((type << 5) | sizeBits);
  else head.push(sizeBits, type - 7);
  return Buffer.from([...head, ...tail]);
}

function encodeUint(type: 5 | 6 | 9, n: number | bigint): Buffer {
  let v = BigInt(n);
  const bytes: number[] = [];
  while (v > 0n) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

/** Strings as UTF-8, numbers as doubles (DB-IP's coordinates are doubles), objects as maps. */
export function encodeValue(value: MmdbValue): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([control(2, bytes.length), bytes]);
  }
  if (typeof value === 'number') {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(value);
    return Buffer.concat([control(3, 8), b]);
  }
  const entries = Object.entries(value);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, v]) => [encodeValue(k), encodeValue(v)])]);
}

/** The database as bytes. Later networks win where they overlap earlier ones' more specific bits. */
export function writeMmdb(networks: readonly MmdbNetwork[], databaseType = 'octomesh-lab-city'): Buffer {
  // Tree nodes as pairs of children: a node index, a data index (as {data}), or null (no data).
  type Child = number | { data: number } | null;
  const nodes: [Child, Child][] = [[null, null]];
  const data: Buffer[] = [];
  const dataOffsets: number[] = [];
  let dataSize = 0;
  for (const net of networks) {
    if (!Number.isInteger(net.prefix) || net.prefix < 1 || net.prefix > 32) throw new TypeError(`mmdb: bad prefix /${net.prefix}`);
    const bits = ipv4Bits(net.address);
    const encoded = encodeValue(net.record);
    dataOffsets.push(dataSize);
    data.push(encoded);
    dataSize += encoded.length;
    const leaf = { data: data.length - 1 };
    let node = 0;
    for (let depth = 0; depth < net.prefix; depth++) {
      const bit = (bits >>> (31 - depth)) & 1;
      if (depth === net.prefix - 1) {
        nodes[node]![bit] = leaf;
        break;
      }
      let next = nodes[node]![bit];
      if (typeof next !== 'number') {
        // A shorter network's data here is pushed down both sides of the new branch.
        nodes.push([next ?? null, next ?? null]);
        next = nodes.length - 1;
        nodes[node]![bit] = next;
      }
      node = next;
    }
  }
  const nodeCount = nodes.length;
  if (nodeCount + 16 + dataSize >= 2 ** 24) throw new RangeError('mmdb: too large for 24-bit records');
  const tree = Buffer.alloc(nodeCount * 6);
  const recordValue = (c: Child): number => (c === null ? nodeCount : typeof c === 'number' ? c : nodeCount + 16 + dataOffsets[c.data]!);
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(recordValue(left), i * 6, 3);
    tree.writeUIntBE(recordValue(right), i * 6 + 3, 3);
  });
  const metadataEntries: [string, Buffer][] = [
    ['binary_format_major_version', encodeUint(5, 2)],
    ['binary_format_minor_version', encodeUint(5, 0)],
    ['build_epoch', encodeUint(9, Math.floor(Date.now() / 1000))],
    ['database_type', encodeValue(databaseType)],
    ['description', encodeValue({ en: 'octomesh lab addresses' })],
    ['ip_version', encodeUint(5, 4)],
    ['languages', Buffer.concat([control(11, 1), encodeValue('en')])],
    ['node_count', encodeUint(6, nodeCount)],
    ['record_size', encodeUint(5, 24)],
  ];
  const metadata = Buffer.concat([control(7, metadataEntries.length), ...metadataEntries.flatMap(([k, v]) => [encodeValue(k), v])]);
  return Buffer.concat([tree, Buffer.alloc(16), ...data, METADATA_MARKER, metadata]);
}
