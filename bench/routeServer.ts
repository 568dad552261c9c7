import { uWS } from '../core/uws.js';
import { startClusterHttp } from '../geo-router/RouterHttp.js';
import type { ClusterView } from '../geo-router/ClusterView.js';
import { CLUSTER_NODES, DEFAULT_REGION } from '../cli/clusterSpec.js';
import { createLogger } from '../core/logger.js';
import type { NodeRecord } from '../core/registry/Registry.js';

// Child process of the route scenario: the cluster's real HTTP front (uWS, GeoIP, /api/route)
// with the three local-cluster node records, and a bare uWS app answering fixed small JSON.
// Sends {routePort, barePort} to the parent over IPC; exits when the parent disconnects.


const nodes: NodeRecord[] = CLUSTER_NODES.map((s) => ({
  id: s.nodeId, region: s.region, latitude: s.latitude, longitude: s.longitude, wsUrl: `ws://127.0.0.1:${s.httpPort}/ws`,
  relayAddress: '', mediaAddress: '127.0.0.1', load: { peers: 0, rooms: 0, consumers: 0, cpu: 0 }, draining: false, pid: 0,
}));
const view: ClusterView = {
  nodes: () => nodes,
  ready: () => true,
  regions: CLUSTER_NODES.map((s) => ({ name: s.region, latitude: s.latitude, longitude: s.longitude })),
  defaultRegion: DEFAULT_REGION,
  roomNodes: async () => [],
};

const http = await startClusterHttp({ host: '127.0.0.1', port: 0, staticDir: '/nonexistent', view, log: createLogger({ level: 'silent', pretty: false }) });
const BODY = JSON.stringify({ region: 'eu-west', nodeId: 'eu-west-1', wsUrl: 'ws://127.0.0.1:8081/ws' });
const bare = uWS.App();
bare.get('/bare', (res) => {
  res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(BODY));
});
const barePort = await new Promise<number>((resolve, reject) =>
  bare.listen('127.0.0.1', 0, (sock) => (sock ? resolve(uWS.us_socket_local_port(sock)) : reject(new Error('bare listen failed')))),
);
process.send!({ routePort: http.port, barePort });
process.on('disconnect', () => process.exit(0));
