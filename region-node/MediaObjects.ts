import type { types } from 'mediasoup';

/** Live mediasoup objects of one worker, as this process holds them. */
export interface MediaObjectCounts {
  routers: number;
  webRtcServers: number;
  rtpObservers: number;
  transports: number;
  webrtcTransports: number;
  plainTransports: number;
  pipeTransports: number;
  directTransports: number;
  producers: number;
  pipeProducers: number;
  consumers: number;
  pipeConsumers: number;
  dataProducers: number;
  dataConsumers: number;
}

/** The same objects as the worker process itself lists them (worker and router dumps). */
export interface WorkerDumpCounts {
  routers: number;
  webRtcServers: number;
  rtpObservers: number;
  transports: number;
  producers: number;
  consumers: number;
  dataProducers: number;
  dataConsumers: number;
}

type Key = keyof MediaObjectCounts;

const zero = (): MediaObjectCounts => ({
  routers: 0,
  webRtcServers: 0,
  rtpObservers: 0,
  transports: 0,
  webrtcTransports: 0,
  plainTransports: 0,
  pipeTransports: 0,
  directTransports: 0,
  producers: 0,
  pipeProducers: 0,
  consumers: 0,
  pipeConsumers: 0,
  dataProducers: 0,
  dataConsumers: 0,
});

interface Closable {
  readonly observer: { once(event: 'close', fn: () => void): unknown };
}

/**
 * Follows one worker through mediasoup's observer events from its start: every object it
 * makes, alive now and made so far. Two views exist because a leak can sit on either side: an
 * object this process forgot to close stays in both, one the worker kept after this process
 * closed it shows only in `dump()`.
 */
export class MediaObjectTracker {
  readonly #worker: types.Worker;
  readonly #live = new Map<Key, Set<Closable>>();
  readonly #routers = new Set<types.Router>();
  readonly #created = zero();

  constructor(worker: types.Worker) {
    this.#worker = worker;
    worker.observer.on('newwebrtcserver', (s) => this.#add(['webRtcServers'], s));
    worker.observer.on('newrouter', (router) => {
      this.#add(['routers'], router);
      this.#routers.add(router);
      router.observer.once('close', () => this.#routers.delete(router));
      router.observer.on('newrtpobserver', (o) => this.#add(['rtpObservers'], o));
      router.observer.on('newtransport', (t) => this.#onTransport(t));
    });
  }

  /** Objects alive now (made and not yet closed). */
  live(): MediaObjectCounts {
    const out = zero();
    for (const [k, set] of this.#live) out[k] = set.size;
    return out;
  }

  /** Objects made since the worker started, closed or not. */
  created(): MediaObjectCounts {
    return { ...this.#created };
  }

  /** Asks the worker process what it holds. Exact when nothing is being made or closed meanwhile. */
  async dump(): Promise<WorkerDumpCounts> {
    const w = await this.#worker.dump();
    const out: WorkerDumpCounts = { routers: w.routerIds.length, webRtcServers: w.webRtcServerIds.length, rtpObservers: 0, transports: 0, producers: 0, consumers: 0, dataProducers: 0, dataConsumers: 0 };
    const dumps = await Promise.all([...this.#routers].map((r) => r.dump().catch(() => undefined)));
    for (const d of dumps) {
      if (!d) continue;
      out.rtpObservers += d.rtpObserverIds.length;
      out.transports += d.transportIds.length;
      out.producers += d.mapProducerIdConsumerIds.length;
      out.consumers += d.mapConsumerIdProducerId.length;
      out.dataProducers += d.mapDataProducerIdDataConsumerIds.length;
      out.dataConsumers += d.mapDataConsumerIdDataProducerId.length;
    }
    return out;
  }

  #onTransport(t: types.Transport): void {
    const kind = `${t.type}Transports` as Key;
    this.#add(['transports', kind], t);
    const pipe = t.type === 'pipe';
    t.observer.on('newproducer', (p) => this.#add(pipe ? ['producers', 'pipeProducers'] : ['producers'], p));
    t.observer.on('newconsumer', (c) => this.#add(c.type === 'pipe' ? ['consumers', 'pipeConsumers'] : ['consumers'], c));
    t.observer.on('newdataproducer', (p) => this.#add(['dataProducers'], p));
    t.observer.on('newdataconsumer', (c) => this.#add(['dataConsumers'], c));
  }

  #add(keys: Key[], obj: Closable): void {
    for (const k of keys) {
      let set = this.#live.get(k);
      if (!set) this.#live.set(k, (set = new Set()));
      set.add(obj);
      this.#created[k]++;
      obj.observer.once('close', () => set.delete(obj));
    }
  }
}
