import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

// A typed EventEmitter. Events are declared per class as a map of name -> argument tuple.
// `safeEmit` calls listeners one by one so that a throwing listener is logged, and neither
// swallowed silently nor allowed to break the emitter's own state machine half way.
export type EventMap = Record<string, unknown[]>;

export class EnhancedEventEmitter<E extends EventMap = EventMap> extends EventEmitter {
  protected readonly emitterLogger: Pick<Logger, 'error'> | undefined;

  constructor(logger?: Pick<Logger, 'error'>) {
    super();
    this.setMaxListeners(Infinity);
    this.emitterLogger = logger;
  }

  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const listeners = this.rawListeners(event);
    for (const listener of listeners) {
      try {
        (listener as (...a: unknown[]) => void).apply(this, args);
      } catch (error) {
        if (this.emitterLogger) this.emitterLogger.error({ err: error, event }, 'event listener threw');
        else console.error(`event listener for "${event}" threw`, error);
      }
    }
    return listeners.length > 0;
  }
}
