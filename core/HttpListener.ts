import { readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { ConfigError } from './errors.js';
import { uWS } from './uws.js';
import type { Logger } from './logger.js';
import { certificateWarning, readTlsFiles, type HttpTlsFiles, type TlsCertificateInfo } from './tlsFiles.js';

// One uWS HTTP(S) listener whose certificate can be replaced while it runs. uWS cannot swap the
// certificate of a listening SSLApp (its SSL_CTX is fixed at construction, and addServerName
// only serves clients that send SNI: a browser opening an IP address sends none). So a reload
// builds a second SSLApp with the same routes, opens it on the same port (uSockets sets
// SO_REUSEPORT, measured here: two listeners on a fixed port both accept), then closes the old
// listen socket. Connections already accepted (open WebSockets) stay on the old app, which is
// kept alive; only new connections see the new certificate. With port 0 the kernel refuses a
// second listener on the ephemeral port: the reload says so and keeps the old certificate.


/** How long a replaced listener keeps accepting beside the new one. */
const RETIRE_AFTER_MS = 100;

/** Routes recorded once and replayed onto every app a reload makes (handlers are shared). */
export function routeTable(): { app: TemplatedApp; replay: (target: TemplatedApp) => void } {
  const calls: { method: string; args: unknown[] }[] = [];
  const app: TemplatedApp = new Proxy({} as TemplatedApp, {
    get: (_, method) => {
      if (typeof method !== 'string') return undefined;
      return (...args: unknown[]) => {
        calls.push({ method, args });
        return app;
      };
    },
  });
  const replay = (target: TemplatedApp): void => {
    for (const c of calls) (target[c.method as keyof TemplatedApp] as (...a: unknown[]) => unknown).apply(target, c.args);
  };
  return { app, replay };
}

export interface HttpListenerOptions {
  host: string;
  port: number;
  /** Serve HTTPS/WSS with these files; plain HTTP when absent or empty. */
  tls?: HttpTlsFiles | undefined;
  /** Adds the routes to an app; called once more for each certificate reload. */
  routes: (app: TemplatedApp) => void;
  log: Logger;
  /** Reload when a file in the certificate's or key's folder changes (default true). */
  watchFiles?: boolean;
  /** Quiet time after a file change before the reload: renewals write several files. */
  settleMs?: number;
}

export class HttpListener {
  readonly #opts: HttpListenerOptions;
  readonly #log: Logger;
  readonly #tls: HttpTlsFiles | undefined;
  /** Every app made, the replaced ones included: their accepted connections live on. */
  readonly #apps: TemplatedApp[] = [];
  readonly #watchers: FSWatcher[] = [];
  #socket: us_listen_socket | undefined;
  /** Replaced listen sockets still open for a moment (see #retire). */
  readonly #retiring = new Set<us_listen_socket>();
  #certificate: TlsCertificateInfo | undefined;
  #port = 0;
  #settleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(opts: HttpListenerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#tls = opts.tls?.cert ? opts.tls : undefined;
  }

  /** Listens; a ConfigError naming `http.tls.cert`/`http.tls.key` for bad files, an Error when the port is taken. */
  static async listen(opts: HttpListenerOptions): Promise<HttpListener> {
    const listener = new HttpListener(opts);
    listener.#start();
    return listener;
  }

  get port(): number {
    return this.#port;
  }

  /** True when serving HTTPS and WSS. */
  get secure(): boolean {
    return this.#tls !== undefined;
  }

  /** The certificate served to new connections. */
  get certificate(): TlsCertificateInfo | undefined {
    return this.#certificate;
  }

  #start(): void {
    let app: TemplatedApp;
    if (this.#tls) {
      const info = readTlsFiles(this.#tls);
      const made = this.#sslApp(this.#tls);
      if (!made) throw new ConfigError('http.tls.cert', `uWS could not load ${this.#tls.cert} with ${this.#tls.key}`);
      app = made;
      this.#certificate = info;
      this.#warnIfInvalid(info);
    } else {
      app = uWS.App();
    }
    this.#opts.routes(app);
    const { host, port } = this.#opts;
    const socket = this.#listenOn(app, port);
    if (!socket) throw new Error(`cannot listen on ${host}:${port} (in use or not permitted)`);
    this.#apps.push(app);
    this.#socket = socket;
    this.#port = uWS.us_socket_local_port(socket);
    if (this.#tls && this.#opts.watchFiles !== false) this.#watch(this.#tls);
    if (this.#tls && migrateRequestsOff()) {
      this.#log.info('net.ipv4.tcp_migrate_req is 0: a certificate reload resets the few connections queued on the old listener at that instant; set it to 1 to move them to the new one');
    }
  }

  /**
   * Re-reads the certificate files and serves them to new connections. True once the new
   * listener is open (the old one closes RETIRE_AFTER_MS later; "certificate reloaded" is
   * logged then). False (and an error logged) when the files are bad or the new listener
   * cannot open: the old certificate stays.
   */
  reload(reason = 'reload'): boolean {
    if (this.#closed || !this.#tls || !this.#socket) return false;
    let info: TlsCertificateInfo;
    try {
      info = readTlsFiles(this.#tls);
    } catch (err) {
      this.#log.error({ reason }, `certificate reload failed, keeping the old certificate: ${(err as Error).message}`);
      return false;
    }
    if (info.contentHash === this.#certificate?.contentHash) {
      this.#log.debug({ reason }, 'certificate files unchanged');
      return false;
    }
    const app = this.#sslApp(this.#tls);
    if (!app) {
      this.#log.error({ reason }, `certificate reload failed, keeping the old certificate: uWS could not load ${this.#tls.cert} with ${this.#tls.key}`);
      return false;
    }
    this.#opts.routes(app);
    const socket = this.#listenOn(app, this.#port);
    if (!socket) {
      this.#log.error({ reason, port: this.#port }, 'certificate reload failed, keeping the old certificate: cannot open a second listener on the port (a reload needs a fixed http.port, not 0)');
      return false;
    }
    this.#retire(this.#socket, () => {
      // Logged once the old listener is gone: from here on every new connection gets this certificate.
      this.#log.info({ reason, subject: info.subject, serial: info.serialNumber, validTo: info.validTo.toISOString(), fingerprint256: info.fingerprint256 }, 'certificate reloaded');
    });
    this.#socket = socket;
    this.#apps.push(app);
    this.#certificate = info;
    this.#warnIfInvalid(info);
    return true;
  }

  /** Synchronous, idempotent: stops listening and watching. Open connections are their owners' to end. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#settleTimer);
    for (const w of this.#watchers) w.close();
    for (const old of this.#retiring) uWS.us_listen_socket_close(old);
    this.#retiring.clear();
    if (this.#socket) uWS.us_listen_socket_close(this.#socket);
    this.#socket = undefined;
  }

  // New connections now reach both listeners (the kernel spreads them), so the old one closes
  // soon, but not at once: connections in its accept queue that uWS has not yet taken are reset
  // when it closes. So it closes from a check-phase callback, right after a poll phase has
  // taken what was queued. (Linux >= 5.14 with net.ipv4.tcp_migrate_req=1 moves the rest to
  // the new listener instead of resetting them.)
  #retire(old: us_listen_socket, closed: () => void): void {
    this.#retiring.add(old);
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (!this.#retiring.delete(old)) return;
        uWS.us_listen_socket_close(old);
        closed();
      });
    }, RETIRE_AFTER_MS);
    timer.unref();
  }

  #sslApp(files: HttpTlsFiles): TemplatedApp | undefined {
    try {
      return uWS.SSLApp({ cert_file_name: files.cert, key_file_name: files.key });
    } catch {
      return undefined;
    }
  }

  #listenOn(app: TemplatedApp, port: number): us_listen_socket | undefined {
    let socket: us_listen_socket | false = false;
    // uWS calls back synchronously.
    app.listen(this.#opts.host, port, (s) => {
      socket = s;
    });
    return socket || undefined;
  }

  #warnIfInvalid(info: TlsCertificateInfo): void {
    const warning = certificateWarning(info, Date.now());
    if (warning) this.#log.warn({ cert: this.#tls?.cert, validFrom: info.validFrom.toISOString(), validTo: info.validTo.toISOString() }, warning);
  }

  // The folders, not the files: certbot swaps symlinks in live/, Kubernetes swaps a ..data
  // symlink beside the mounted files, editors rename over them; a watch on the old file's
  // inode would see none of the later changes.
  #watch(files: HttpTlsFiles): void {
    const dirs = new Set([path.dirname(path.resolve(files.cert)), path.dirname(path.resolve(files.key))]);
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#changed());
        w.on('error', (err) => this.#log.warn({ err, dir }, 'certificate folder watch failed; SIGHUP still reloads'));
        this.#watchers.push(w);
      } catch (err) {
        this.#log.warn({ err, dir }, 'cannot watch the certificate folder; SIGHUP still reloads');
      }
    }
  }

  #changed(): void {
    if (this.#closed) return;
    clearTimeout(this.#settleTimer);
    this.#settleTimer = setTimeout(() => this.reload('file change'), this.#opts.settleMs ?? 1000);
    this.#settleTimer.unref();
  }
}

/** True when Linux would reset, not migrate, the accept queue of a closing SO_REUSEPORT listener. */
function migrateRequestsOff(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim() === '0';
  } catch {
    return false; // not Linux, or a kernel before 5.14: nothing to advise
  }
}
