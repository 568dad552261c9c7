import type * as grpc from '@grpc/grpc-js';

// Relay links cross WAN paths between regions: up to ~220 ms RTT (110 ms one way) with 1-3 %
// loss. gRPC keepalive is how a link notices a peer that is gone without a word (host down,
// path cut); a process that dies is seen at once (its kernel resets the connection).
//
// A ping goes 500 ms after the last answer and must be answered within 1.5 s, so a dead peer
// is noticed 1.5-2 s after it went. On a 220 ms RTT path an answer misses 1.5 s only if one
// TCP segment is lost three times in a row (Linux resends after ~RTT + 200 ms, then doubling:
// 220 + 420 + 840 ms < 1.5 s for two losses); at 3 % loss that is ~3e-5 per ping, about once
// in three hours of a busy path; at 1 %, once in months.
const KEEPALIVE = {
  'grpc.keepalive_time_ms': 500,
  'grpc.keepalive_timeout_ms': 1_500,
} as const;

/** The relay server's options: it pings its callers as they ping it (grpc-js servers do not
 *  refuse frequent client pings, so the callers' 500 ms needs no permission here). */
export const RELAY_SERVER_OPTIONS: grpc.ServerOptions = { ...KEEPALIVE };

/** A relay dialer's channel options. */
export const RELAY_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  ...KEEPALIVE,
  // Keep pinging while no link uses the channel, so a dead connection is found before the
  // next link is dialled onto it.
  'grpc.keepalive_permit_without_calls': 1,
  // gRPC's own reconnect backoff (default 1 s growing to 120 s) would keep a channel in
  // TRANSIENT_FAILURE long after a path came back; the Cascade's re-dial backoff (capped at
  // 1 s) is the one that paces attempts.
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 1_000,
};

/**
 * A channel still connecting after this long is closed and made again. A TCP connect whose
 * SYN was lost is resent by the kernel after 1 s, then 3 s, 7 s, ...: a dial that started while
 * the path was down would wait seconds after it came back. A fresh channel sends a fresh SYN.
 * 1 s: a TLS connect on a 220 ms RTT path takes ~0.5-0.7 s (TCP, TLS 1.3, HTTP/2 settings).
 */
export const RELAY_CONNECT_STALL_MS = 1_000;
