export { SignalClient, type Notification, type Response } from '../../core/SignalClient.js';

/** Opus and VP8 parameters a browser would send for produce (no simulcast). */
export function audioRtpParameters(ssrc: number): unknown {
  return {
    mid: '0',
    codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
    headerExtensions: [],
    encodings: [{ ssrc }],
    rtcp: { cname: 'test', reducedSize: true },
  };
}

export function videoRtpParameters(ssrc: number): unknown {
  return {
    mid: '1',
    codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }],
    headerExtensions: [],
    encodings: [{ ssrc }],
    rtcp: { cname: 'test', reducedSize: true },
  };
}
