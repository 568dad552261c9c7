import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { mean, round } from '../stats.js';
import type { ScenarioContext, ScenarioResult } from './types.js';

// Real client addresses on several continents (the geo-route tests use the same kind).
export const CLIENT_ADDRESSES = ['212.58.244.22', '203.178.141.194', '200.160.2.3', '8.8.8.8', '1.1.1.1', '151.101.1.69', '133.242.0.3', '196.25.1.1', '2001:4860:4860::8888', '85.214.132.117'];

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>;

function loadAutocannon(): Cannon | undefined {
  try {
    return createRequire(import.meta.url)('autocannon') as Cannon;
  } catch {
    return undefined;
  }
}

/**
 * autocannon against the cluster's /api/route (GeoIP lookup per request, X-Forwarded-For from
 * a list of real addresses) and against a bare uWS endpoint in the same child process,
 * alternating rounds so both see the same machine state.
 */
export async function route(ctx: ScenarioContext): Promise<ScenarioResult> {
  const cannon = loadAutocannon();
  const rounds = ctx.tiny ? 1 : ctx.quick ? 2 : 4;
  const seconds = ctx.tiny ? 1 : ctx.quick ? 4 : 10;
  const connections = 20;
  const parameters = { rounds, secondsPerRun: seconds, connections, pipelining: 1, addresses: CLIENT_ADDRESSES.length, server: 'child process (cluster HTTP front + bare uWS app), autocannon in the bench process' };
  if (!cannon) return { name: 'route', figures: { routeRpsRatio: null, routeP99Ms: null }, parameters, steps: [], notes: ['autocannon is not installed (npm install autocannon)'] };
  const child = fork(fileURLToPath(new URL('../routeServer.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const steps: ScenarioResult['steps'] = [];
  try {
    const ports = await new Promise<{ routePort: number; barePort: number }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { routePort: number; barePort: number }));
      child.once('exit', (code) => reject(new Error(`route server exited with ${code}`)));
    });
    const routeRequests = CLIENT_ADDRESSES.map((ip, i) => ({ method: 'GET', path: `/api/route?room=bench${i % 3}`, headers: { 'x-forwarded-for': ip } }));
    const run = (url: string, requests?: unknown[]): Promise<CannonResult> => cannon({ url, connections, duration: seconds, ...(requests ? { requests } : {}) });
    // Warm up both (JIT, GeoIP page cache).
    await run(`http://127.0.0.1:${ports.routePort}/api/route?room=warm`, routeRequests.slice(0, 3)).catch(() => undefined);
    for (let i = 0; i < rounds; i++) {
      const r = await run(`http://127.0.0.1:${ports.routePort}/api/route`, routeRequests);
      const b = await run(`http://127.0.0.1:${ports.barePort}/bare`);
      if (r.non2xx || r.errors) throw new Error(`/api/route: ${r.non2xx} non-2xx, ${r.errors} errors`);
      const step = { round: i + 1, routeRps: round(r.requests.average, 0), routeP50Ms: r.latency.p50, routeP99Ms: r.latency.p99, bareRps: round(b.requests.average, 0), bareP99Ms: b.latency.p99 };
      steps.push(step);
      ctx.log(`route: round ${i + 1}: /api/route ${step.routeRps} req/s (p99 ${step.routeP99Ms} ms), bare uWS ${step.bareRps} req/s (p99 ${step.bareP99Ms} ms)`);
    }
  } finally {
    child.disconnect();
    child.kill();
  }
  const routeRps = mean(steps.map((s) => s.routeRps!));
  const bareRps = mean(steps.map((s) => s.bareRps!));
  return {
    name: 'route',
    figures: { routeRpsRatio: round(routeRps / bareRps, 3), routeP99Ms: round(Math.max(...steps.map((s) => s.routeP99Ms!)), 2), routeRps: round(routeRps, 0), bareRps: round(bareRps, 0) },
    parameters,
    steps,
    notes: ['routeP99Ms is the worst round; both servers share one child process and one core with autocannon on this machine'],
  };
}
