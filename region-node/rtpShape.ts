import type { types } from 'mediasoup';

// mediasoup's `rtpParameters` getters deep-clone the parameters on every read: a join storm
// spent a tenth of a node's JS in those clones, most of them to read one number that never
// changes for the object's life. Read once per object here.

const encodings = new WeakMap<types.Producer, number>();
const scalability = new WeakMap<types.Consumer, string | undefined>();

/** How many encodings (simulcast layers) `producer` sends. */
export function encodingCount(producer: types.Producer): number {
  let n = encodings.get(producer);
  if (n === undefined) encodings.set(producer, (n = producer.rtpParameters.encodings?.length ?? 1));
  return n;
}

/** The scalability mode of `consumer`'s first encoding, if any. */
export function scalabilityModeOf(consumer: types.Consumer): string | undefined {
  if (!scalability.has(consumer)) scalability.set(consumer, consumer.rtpParameters.encodings?.[0]?.scalabilityMode);
  return scalability.get(consumer);
}
