import { readFileSync } from 'node:fs';

// The kernel's UDP counters (Linux /proc/net/snmp, all sockets of this network namespace):
// when a fanout step loses packets, RcvbufErrors says how many were dropped because a receive
// buffer was full (on loopback, that is the bots' sink falling behind, not the worker), and
// SndbufErrors how many a sender could not queue.

export interface UdpCounters {
  inDatagrams: number;
  rcvbufErrors: number;
  sndbufErrors: number;
}

/** Current counters, or undefined where /proc/net/snmp is not readable (not Linux). */
export function readUdpCounters(): UdpCounters | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/net/snmp', 'utf8');
  } catch {
    return undefined;
  }
  const [names, values] = text.split('\n').filter((l) => l.startsWith('Udp:'));
  if (!names || !values) return undefined;
  const keys = names.split(/\s+/).slice(1);
  const nums = values.split(/\s+/).slice(1).map(Number);
  const get = (k: string): number => nums[keys.indexOf(k)] ?? NaN;
  return { inDatagrams: get('InDatagrams'), rcvbufErrors: get('RcvbufErrors'), sndbufErrors: get('SndbufErrors') };
}

export function udpDelta(a: UdpCounters | undefined, b: UdpCounters | undefined): UdpCounters | undefined {
  if (!a || !b) return undefined;
  return { inDatagrams: b.inDatagrams - a.inDatagrams, rcvbufErrors: b.rcvbufErrors - a.rcvbufErrors, sndbufErrors: b.sndbufErrors - a.sndbufErrors };
}
