import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { LabUser } from './browsers.js';
import { formatGlassToGlass, formatTable, freezeMsPerMin } from './measure/report.js';
import { readGlassToGlass, startReader, summarize } from './measure/glassToGlass.js';
import { diffDownlink, downlinkTotals, formatDownlink, sampleLayers, spatialSwitches } from './measure/downlink.js';
import { DecodingTimeoutError, lostStreams, measureWindow, waitUntilDecodingAll, type LostStream } from './measure/quality.js';
import type { NetLab } from './netlab.js';
import type { LabResults } from './results.js';
import type { LabServices } from './services.js';
import type { Wan } from './wan.js';

// The lab's scenario, in order: three users join one room through the geo-router; a window per
// loss rate on the inter-region paths, each with glass-to-glass eu-west → ap-northeast (the
// figure is the lossless one; the others show what waiting for repairs under loss costs); the ap user's downlink throttled to 600 kbit/s; one inter-region path blackholed for
// 3 s; SIGKILL of the ap-northeast node; the node back and the ap user with it; then the
// ap-northeast host cut off while its node runs.

export interface ScenarioContext {
  lab: NetLab;
  wan: Wan;
  services: LabServices;
  users: LabUser[];
  results: LabResults;
  log: (line: string) => void;
  url: (user: string) => string;
  sites: readonly { region: string; user: string }[];
  windowMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (v: number, digits = 0): number => Number(v.toFixed(digits));

/** Machine-wide CPU counters (/proc/stat is not per namespace): busy and total jiffies. */
function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** How loaded the machine was over a window: every figure here is CPU-bound on a busy machine. */
async function withLoad<T>(fn: () => Promise<T>): Promise<{ value: T; cpuBusyPct: number; load1: number }> {
  const a = cpuTimes();
  const value = await fn();
  const b = cpuTimes();
  return { value, cpuBusyPct: Math.round((100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total)), load1: Number(loadavg()[0]!.toFixed(1)) };
}

const loadLine = (l: { cpuBusyPct: number; load1: number }): string => `machine: ${cpus().length} cores ${l.cpuBusyPct} % busy, load ${l.load1}`;

const THROTTLE_KBIT = 600;
const THROTTLED_USER = 'user-ap';
/** How often waitJoined reads the pages' state: a sampling interval of a bounded poll. */
const JOIN_POLL_MS = 300;
/**
 * Part of the measurement protocol, not waits for an event: after a new loss rate, the senders'
 * and the relay's loss handling (NACK, bandwidth estimation) adapt gradually and say nothing when
 * done; after the throttle, the receiver's estimate and the server's layer choice come down the
 * same way. The windows are measured after these fixed settles, so the figures compare run to run.
 */
const LOSS_SETTLE_MS = 3_000;
const throttleSettleMs = (quick: boolean): number => (quick ? 6_000 : 10_000);
/** The relink blackhole: wan.py lifts it on its own timer and reports nothing back, so the lab waits it out and times relink from its end. */
const BLACKHOLE_S = 3;
/** Between reloads of a user routed away from its restarted node: time for the node to answer probes faster (a retry delay, no event to wait for). */
const RELOAD_RETRY_MS = 2_000;

interface Joined {
  state: string;
  region: string | null;
  by: string | null;
  error: string | null;
}

async function joinedState(u: LabUser): Promise<Joined | null> {
  return (await u.page.evaluate(`(() => { const h = window.__octomesh; return h ? { state: h.state, region: h.region, by: h.route ? h.route.by : null, error: h.error || null } : null; })()`).catch(() => null)) as Joined | null;
}

async function waitJoined(users: readonly LabUser[], timeoutMs: number): Promise<Joined[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(users.map(joinedState));
    if (states.every((s) => s?.state === 'joined')) return states as Joined[];
    if (Date.now() > end) throw new Error(`users not joined after ${timeoutMs / 1000} s: ${users.map((u, i) => `${u.name}=${states[i]?.state ?? 'no app'}${states[i]?.error ? ` (${states[i]!.error})` : ''}`).join(', ')}`);
    await sleep(JOIN_POLL_MS);
  }
}

/** Seconds until every page decodes every expected sender; null (and a note) on timeout. */
async function timeToDecode(ctx: ScenarioContext, what: string, users: readonly LabUser[], senders: readonly string[], since: number, timeoutMs: number): Promise<number | null> {
  try {
    const ms = await waitUntilDecodingAll(users.map((u) => u.page), senders, timeoutMs, { since });
    ctx.log(`lab: ${what}: ${(ms / 1000).toFixed(2)} s`);
    return round(ms / 1000, 2);
  } catch (err) {
    if (!(err instanceof DecodingTimeoutError)) throw err;
    ctx.results.notes.push(`${what}: not everyone decoded everyone within ${timeoutMs / 1000} s (${err.missing.join('; ')})`);
    ctx.log(`lab: ${what}: timed out after ${timeoutMs / 1000} s; missing ${err.missing.join(', ')}`);
    return null;
  }
}

export async function runScenario(ctx: ScenarioContext): Promise<void> {
  const { lab, wan, services, users, results, log } = ctx;
  const f = results.figures;
  const names = users.map((u) => u.name);
  const pages = users.map((u) => u.page);
  const byName = (name: string): LabUser => users.find((u) => u.name === name)!;
  const quick = ctx.windowMs < 60_000;

  const joinStart = Date.now();
  await Promise.all(users.map((u) => u.page.goto(ctx.url(u.name))));
  const joined = await waitJoined(users, 60_000);
  users.forEach((u, i) => {
    const want = ctx.sites.find((s) => s.user === u.name)?.region;
    log(`lab: ${u.name} joined ${joined[i]!.region} (by ${joined[i]!.by})`);
    if (joined[i]!.region !== want) results.notes.push(`${u.name} was routed to ${joined[i]!.region} (by ${joined[i]!.by}), not ${want}`);
  });
  // Not everyone decoding is a finding (lostStreams), not a reason to stop: measure what flows.
  await timeToDecode(ctx, 'first media, everyone decoding everyone (from page load)', users, names, joinStart, quick ? 45_000 : 60_000);
  // A stream that never comes would make every "everyone decoding" wait below run out: keep
  // those short in --quick so the whole run stays within 5 minutes.
  const settleMs = quick ? 15_000 : 30_000;

  // ---- loss conditions ----
  const lost: (LostStream & { run: string })[] = [];
  const g2gPage = byName('user-ap').page;
  await startReader(g2gPage).catch((err: Error) => results.notes.push(`glass-to-glass reader did not start: ${err.message}`));
  for (const [loss, key] of [[0, 'freezeMsPerMinLoss0'], [0.01, 'freezeMsPerMinLoss1'], [0.03, 'freezeMsPerMinLoss3']] as const) {
    wan.setLoss(loss);
    // Let the senders' and the relay's loss handling see the new rate before measuring.
    if (loss > 0) await sleep(LOSS_SETTLE_MS);
    const since = Date.now();
    const { value: w, ...load } = await withLoad(() => measureWindow(pages, ctx.windowMs, { everyMs: 2_000 }));
    const title = `loss ${loss * 100} % on inter-region paths, ${Math.round(w.seconds)} s (${loadLine(load)})`;
    const reads = await readGlassToGlass(g2gPage, { since }).catch(() => null);
    const s = reads ? summarize(reads, { peer: 'user-eu' }) : null;
    const g2g = s ? formatGlassToGlass('eu-west → ap-northeast', s) : 'glass-to-glass eu-west → ap-northeast: reader failed';
    const table = `${formatTable(title, w.rows)}\n${g2g}`;
    log(`\n${table}`);
    const p50 = s?.p50Ms == null ? null : round(s.p50Ms);
    results.conditions.push({ name: `loss${loss * 100}`, seconds: w.seconds, ...load, rows: w.rows, table, glassToGlassP50Ms: p50, glassToGlassP95Ms: s?.p95Ms == null ? null : round(s.p95Ms) });
    f[key] = round(freezeMsPerMin(w.rows).freezeMsPerMin);
    lost.push(...lostStreams(w.snapshots, names).map((l) => ({ ...l, run: title })));
    if (loss === 0) {
      f.glassToGlassP50MsEuAp = p50;
      if (p50 === null) results.notes.push(`glass-to-glass: no good read (${s ? `${s.badReads} bad reads` : 'reader failed'})`);
    }
  }
  wan.setLoss(0);

  // ---- the throttled user ----
  await lab.limitDownlink(byName(THROTTLED_USER).host, THROTTLE_KBIT);
  // The receiver's bandwidth estimate and the server's layer choice need a while to come down.
  await sleep(throttleSettleMs(quick));
  {
    const throttled = byName(THROTTLED_USER).page;
    const before = await downlinkTotals(throttled).catch(() => null);
    const layers = sampleLayers(throttled);
    const { value: w, ...load } = await withLoad(() => measureWindow(pages, ctx.windowMs, { everyMs: 2_000 }));
    const timeline = await layers.stop();
    const switches = spatialSwitches(timeline);
    log(`${THROTTLED_USER}'s layers (server's choice, at each change): ${timeline.join(', ')}`);
    results.notes.push(`${THROTTLED_USER}: ${switches} spatial layer switches in the throttled window`);
    const after = await downlinkTotals(throttled).catch(() => null);
    if (before && after) {
      const d = diffDownlink(before, after);
      log(formatDownlink(THROTTLED_USER, d));
      results.notes.push(formatDownlink(THROTTLED_USER, d));
    }
    const title = `${THROTTLED_USER}'s downlink at ${THROTTLE_KBIT} kbit/s (tbf), loss 0 %, ${Math.round(w.seconds)} s (${loadLine(load)})`;
    const table = formatTable(title, w.rows);
    log(`\n${table}`);
    results.conditions.push({ name: 'throttled', seconds: w.seconds, ...load, rows: w.rows, table });
    const mine = w.rows.filter((r) => r.receiver === THROTTLED_USER);
    f.throttledUserFreezeMsPerMin = round(freezeMsPerMin(mine).freezeMsPerMin);
    const widths = mine.filter((r) => r.kind === 'video' && !r.gone).map((r) => r.frameWidth);
    f.throttledUserLayer = widths.length ? Math.max(...widths) : null;
    lost.push(...lostStreams(w.snapshots, names).map((l) => ({ ...l, run: title })));
  }
  await lab.limitDownlink(byName(THROTTLED_USER).host, 0);
  results.lost = lost;
  // Distinct (receiver, sender, kind): a stream missing for the whole call counts once, not once
  // per window; `lost` in the JSON keeps which windows it was missing in.
  f.lostStreams = new Set(lost.map((l) => `${l.receiver}\u0000${l.sender}\u0000${l.kind}`)).size;
  if (lost.length) log(`lab: streams that never reached their receiver in a window: ${[...new Set(lost.map((l) => `${l.sender} → ${l.receiver} (${l.kind})`))].join(', ')}`);

  // ---- relink: one path blackholed for 3 s ----
  await timeToDecode(ctx, 'before relink, everyone decoding', users, names, Date.now(), settleMs);
  wan.blackhole('eu-west', 'us-east', BLACKHOLE_S);
  await sleep(BLACKHOLE_S * 1000);
  f.relinkS = await timeToDecode(ctx, 'relink (eu-west ~ us-east back after 3 s blackhole, until eu ⇄ us decode)', [byName('user-eu'), byName('user-us')], ['user-eu', 'user-us'], Date.now(), 30_000);

  // ---- failover: SIGKILL the ap-northeast node ----
  await timeToDecode(ctx, 'before failover, everyone decoding', users, names, Date.now(), settleMs);
  const killedAt = Date.now();
  services.killNode('ap-northeast');
  // Media already in flight could look like decoding: the killed user's page cannot decode
  // anything until it rejoins elsewhere, so no early false "all decoding" is possible.
  f.failoverS = await timeToDecode(ctx, 'failover (SIGKILL ap-northeast node, until everyone decodes everyone)', users, names, killedAt, quick ? 30_000 : 60_000);

  // ---- the node back, its user back on it ----
  services.startNode('ap-northeast');
  await services.waitRouted(['eu-west', 'us-east', 'ap-northeast'], 60_000);
  const ap = byName('user-ap');
  // A node just started answers its first probes slowly (a busy machine, a cold process): the
  // page's RTT probe may then pick another region. Reload until the user is home again.
  let back: Joined | undefined;
  for (let attempt = 1; attempt <= 4; attempt++) {
    await ap.page.goto(ctx.url(ap.name));
    back = (await waitJoined([ap], 30_000))[0]!;
    log(`lab: ${ap.name} rejoined ${back.region} (by ${back.by}, attempt ${attempt}; the geo-router lists ${(await services.routedRegions()).join(', ')})`);
    if (back.region === 'ap-northeast') break;
    await sleep(RELOAD_RETRY_MS);
  }
  if (back?.region !== 'ap-northeast') results.notes.push(`after the restart ${ap.name} joined ${back?.region} (by ${back?.by}), not ap-northeast; partition measured anyway`);
  await timeToDecode(ctx, 'before partition, everyone decoding', users, names, Date.now(), settleMs + 15_000);

  // ---- partition: the ap-northeast host cut off, its node running ----
  const cutAt = Date.now();
  await lab.setLinked('ap-northeast', false);
  wan.setHostPathsDown('ap-northeast', true);
  f.partitionFailoverS = await timeToDecode(ctx, 'partition (ap-northeast host cut off, until everyone decodes everyone)', users, names, cutAt, quick ? 40_000 : 60_000);
  await lab.setLinked('ap-northeast', true);
  wan.setHostPathsDown('ap-northeast', false);
}
