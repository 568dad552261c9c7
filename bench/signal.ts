// The bench's bots use the one Node-side signaling client (core/SignalClient.ts), without
// keeping every notification (a room of fifty gets many).
export { SignalClient as BenchSignal } from '../core/SignalClient.js';
