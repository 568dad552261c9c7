import type { WebSocket } from 'uWebSockets.js';
import type { Config } from '../core/config.js';
import { HttpListener, routeTable } from '../core/HttpListener.js';
import type { Logger } from '../core/logger.js';
import type { Registry as MetricsRegistry } from '../core/metrics.js';
import { StaticFiles } from '../core/StaticFiles.js';
import { json, sendStatic, uWS } from '../core/uws.js';
import type { SessionSocket } from './Session.js';

/** What the node's HTTP/WebSocket server serves: a session per socket, health, metrics, identity. */
export interface NodeHttpHost {
  readonly region: string;
  readonly nodeId: string;
  readonly metrics: MetricsRegistry;
  health(): { ok: boolean };
  /** A new WebSocket: its session, fed each frame and told of the close. */
  openSession(socket: SessionSocket, ip: string): { onMessage(frame: ArrayBuffer, isBinary: boolean): void; onClose(): void };
}

interface SocketData {
  session: ReturnType<NodeHttpHost['openSession']> | undefined;
  ip: string;
  /** Set by open(): after close, a send on the uWS socket would throw. */
  markClosed: () => void;
}

/**
 * A region node's one port (HTTP and WebSocket, HTTPS/WSS with http.tls): `/ws` (signaling, one
 * Session per socket), `/healthz`, `/metrics`, `/ping` (the client's RTT probe) and the web app.
 * Routing is the geo-router's, not the node's.
 */
export class NodeHttp {
  readonly #listener: HttpListener;
  readonly #sockets: Set<WebSocket<SocketData>>;

  private constructor(listener: HttpListener, sockets: Set<WebSocket<SocketData>>) {
    this.#listener = listener;
    this.#sockets = sockets;
  }

  static async listen(http: Config['http'], limits: Config['limits'], host: NodeHttpHost, log: Logger): Promise<NodeHttp> {
    // Recorded once, replayed onto each app a certificate reload makes (core/HttpListener.ts).
    const { app, replay } = routeTable();
    const sockets = new Set<WebSocket<SocketData>>();
    const files = new StaticFiles(http.staticDir);

    app.ws<SocketData>('/ws', {
      compression: uWS.DISABLED,
      maxPayloadLength: limits.maxMessageBytes,
      idleTimeout: limits.idleTimeoutSec,
      maxBackpressure: 4 * 1024 * 1024,
      closeOnBackpressureLimit: 1,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
        res.upgrade<SocketData>(
          { session: undefined, ip, markClosed: () => undefined },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws: WebSocket<SocketData>) => {
        const data = ws.getUserData();
        let open = true;
        data.session = host.openSession(
          {
            send: (text) => open && ws.send(text, false) !== 2,
            close: (code, reason) => {
              if (!open) return;
              open = false;
              ws.end(code, reason);
            },
          },
          data.ip,
        );
        data.markClosed = () => {
          open = false;
        };
        sockets.add(ws);
      },
      message: (ws, message, isBinary) => {
        ws.getUserData().session?.onMessage(message, isBinary);
      },
      close: (ws, code) => {
        const data = ws.getUserData();
        data.markClosed();
        sockets.delete(ws);
        log.debug({ code }, 'socket closed');
        data.session?.onClose();
      },
    });

    app.get('/healthz', (res) => {
      const h = host.health();
      json(res, h.ok ? 200 : 503, h);
    });

    app.get('/metrics', (res) => {
      let aborted = false;
      res.onAborted(() => (aborted = true));
      host.metrics.metrics().then(
        (text) => {
          if (aborted) return;
          res.cork(() => res.writeHeader('content-type', host.metrics.contentType).end(text));
        },
        (err: Error) => {
          log.error({ err }, 'metrics failed');
          if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
        },
      );
    });

    app.get('/ping', (res) => json(res, 200, { region: host.region, nodeId: host.nodeId, now: Date.now() }));

    app.get('/*', (res, req) => {
      if (!sendStatic(res, files, req.getUrl())) res.cork(() => res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end('not found'));
    });

    app.any('/*', (res) => {
      res.cork(() => res.writeStatus('405 Method Not Allowed').end());
    });

    const listener = await HttpListener.listen({ host: http.host, port: http.port, tls: http.tls, routes: replay, log });
    return new NodeHttp(listener, sockets);
  }

  get port(): number {
    return this.#listener.port;
  }

  get secure(): boolean {
    return this.#listener.secure;
  }

  /** Open WebSockets (leak checks). */
  get sockets(): number {
    return this.#sockets.size;
  }

  reload(reason: string): boolean {
    return this.#listener.reload(reason);
  }

  /** Synchronous, idempotent: stops listening and ends every socket (1001). */
  close(): void {
    this.#listener.close();
    for (const ws of this.#sockets) ws.end(1001, 'node shutting down');
    this.#sockets.clear();
  }
}
