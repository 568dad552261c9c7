// How long the browser's jitter buffer should wait for relayed media: a pure function of the
// receiver's counters, the relay path's RTT and a clock, so the policy is a table test and not a
// property of timers (RelayJitter polls and applies it).
//
// Measured in the lab (test/lab, issue #11): with 1 % loss between region nodes, relayed video
// froze ~5 s per minute. A packet lost between nodes is NACKed by the far node's pipe producer
// and resent by the origin, so it reaches the browser about one relay RTT late (eu↔ap: 220 ms);
// the browser's video jitter buffer sizes itself by its own RTT to its node (~1 ms), so each
// repair was a ~240 ms freeze. (Chromium does grow its delay under such loss by itself, through
// the audio jitter buffer and lip sync, to ~150-250 ms: not enough for a 220 ms repair.)
// Waiting for ONE round (RTT + 60 ms) removed few freezes at 3 % loss in the lab: what was left
// were repairs that failed once (the NACK or the retransmission lost too: ~2 × the loss rate of
// them) and came a second RTT later. Quick lab, 3 % loss, freezes on the eu↔ap streams (the
// 220 ms path) per 20 s window, busy 2-core machine: browser's own 8-10 (2.4-4.9 s), one round
// 7-9 (2.4-2.8 s), two rounds capped at 400 ms 1-4 (0.2-1.4 s); glass-to-glass eu→ap p50 under
// loss 366-447 ms, 441-466 ms, 532-576 ms; without loss unchanged (~200-260 ms).
// Waiting costs delay, so it is done only while repairs are being seen and dropped after a quiet
// spell: glass-to-glass without loss is the browser's own.

export interface JitterPolicy {
  /** Relay round trips to wait: 1 covers a repair at the first try; 2 also a NACK or
   *  retransmission lost in turn (about 2 × the loss rate of the repairs). */
  repairRounds: number;
  /** Added to the relay RTTs: the far node notices a loss only at the next packet (up to a frame
   *  later), and the path jitters. */
  marginMs: number;
  /** Never more than this (ms): beyond, a conversation suffers more than from a freeze. */
  capMs: number;
  /** A target is kept this long after the last sign of repair, then dropped (null). */
  holdMs: number;
}

export const JITTER_POLICY: JitterPolicy = { repairRounds: 2, marginMs: 60, capMs: 400, holdMs: 10_000 };

/**
 * The inbound-rtp counters of one receiver (cumulative, as getStats gives them). Video shows a
 * repair across the relay as NACKs (the browser asks its node for the missing packet, which the
 * node does not have yet) or losses; audio, which the browser does not NACK, as packets its
 * jitter buffer discarded for arriving too late (the pipe repaired them, one relay RTT late).
 */
export interface ReceiverCounters {
  nackCount: number;
  packetsLost: number;
  packetsDiscarded: number;
}

/** What the policy remembers between polls of one receiver. */
export interface RepairWatch extends ReceiverCounters {
  /** When counters last grew (the clock's unit: ms), null if never since the watch began. */
  lastRepairAt: number | null;
}

/**
 * One poll of one receiver: the new watch and the jitter buffer target to apply (ms), or null
 * for the browser's own choice. `prev` null is the first poll: its counters are the baseline
 * (what they count happened at some unknown time before). A receiver whose relay RTT is not
 * known or 0 (local media) never gets a target. Counters that went backwards (a stats reset)
 * are a new baseline, not a repair.
 */
export function nextJitterTarget(
  prev: RepairWatch | null,
  now: ReceiverCounters,
  relayRttMs: number | null | undefined,
  at: number,
  p: JitterPolicy = JITTER_POLICY,
): { watch: RepairWatch; targetMs: number | null } {
  const grew = prev !== null && (now.nackCount > prev.nackCount || now.packetsLost > prev.packetsLost || now.packetsDiscarded > prev.packetsDiscarded);
  const lastRepairAt = grew ? at : (prev?.lastRepairAt ?? null);
  const watch: RepairWatch = { nackCount: now.nackCount, packetsLost: now.packetsLost, packetsDiscarded: now.packetsDiscarded, lastRepairAt };
  const rtt = typeof relayRttMs === 'number' && Number.isFinite(relayRttMs) && relayRttMs > 0 ? relayRttMs : 0;
  const repairing = lastRepairAt !== null && at - lastRepairAt < p.holdMs;
  return { watch, targetMs: rtt > 0 && repairing ? Math.min(p.capMs, Math.round(p.repairRounds * rtt + p.marginMs)) : null };
}
