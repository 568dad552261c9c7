/**
 * The camera's simulcast encodings the SDK sends (a quarter, half and all of the capture; VP8
 * L1T3 each, as mediasoup-client declares): the bench's room bots send the same ladder.
 */
export const SIMULCAST_ENCODINGS = [
  { maxBitrate: 100_000, scaleResolutionDownBy: 4 },
  { maxBitrate: 300_000, scaleResolutionDownBy: 2 },
  { maxBitrate: 900_000, scaleResolutionDownBy: 1 },
] as const;
