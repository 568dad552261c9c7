import type * as grpc from '@grpc/grpc-js';

// Relay links cross WAN paths between regions: up to ~220 ms RTT (110 ms one way) with 1-3 %
// loss. gRPC keepalive is how a link notices a peer that is gone without a word (host down,
// path cut); a process that dies is seen at once (its kernel resets the connection), and a host
// that is cut off leaves the registry at its 5 s TTL, which closes every link to it anyway.
//
// So keepalive only has to tell a path that is gone for good from one that blips, and a blip
// must not cost a teardown: closing a link closes every pipe on it, so every far viewer of every
// room on that node pair sees the publisher's tile vanish (producerClosed) and come back. A link
// that lives through a blip resumes media the moment the path does (the pipes are UDP).
// A ping every second, answered within 8 s: a 3 s outage survives even on the 220 ms path,
// where TCP resends a ping lost at the outage's start after 0.42, 1.26, 2.94 and 6.3 s (RTO
// = RTT + 200 ms, doubling), so its answer comes ~6.5 s after it was sent. Measured in the lab
// (3 s blackhole eu-west~us-east): with 0.5 s / 1.5 s the link was torn down and re-dialled, media
// back 2.7 s after the path; with 1 s / 8 s the same link carried on, media back in 2.7 s too
// (the wait is the far consumer's key frame, not the link), and nobody's tile went away.
const KEEPALIVE = {
  'grpc.keepalive_time_ms': 1_000,
  'grpc.keepalive_timeout_ms': 8_000,
} as const;

/** The relay server's options: it pings its callers as they ping it (grpc-js servers do not
 *  refuse frequent client pings, so the callers' 1 s needs no permission here). */
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
