import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import {
  debounceDueAt, DEBOUNCE_MAX_WAIT_MS, DEBOUNCE_MS, deviceViewSize, FIRST_SIGHTING_WAIT_MS, nextStep, viewWorthSending, wantedView,
  type ConsumerView, type Sighting, type Step, type ViewSize,
} from '../../client/sdk/adaptivePolicy.js';
import { ConsumerViews } from '../../client/sdk/ConsumerViews.js';
import { activeEncodings } from '../../client/sdk/dynacastPolicy.js';
import { LastN, normalizeView, sameView } from '../../client/sdk/LastN.js';

// Adaptive stream, dynacast and last-N on the client as tables: what a tile wants, which request
// brings the server there, when a debounced change is due, which encodings stay on.

const size = (width: number, height: number): ViewSize => ({ width, height });
const view = (paused: boolean, v: ViewSize | null): ConsumerView => ({ paused, view: v });
const sighting = (o: Partial<Sighting> = {}): Sighting => ({ intersecting: true, pageVisible: true, cssWidth: 320, cssHeight: 180, devicePixelRatio: 1, ...o });

describe('the size a tile is drawn at, in device pixels', () => {
  const rows: { name: string; css: [number, number]; dpr: number; want: ViewSize | null }[] = [
    { name: 'CSS pixels at ratio 1', css: [320, 180], dpr: 1, want: size(320, 180) },
    { name: 'a retina screen doubles it', css: [320, 180], dpr: 2, want: size(640, 360) },
    { name: 'fractional sizes and ratios round', css: [301.4, 169.6], dpr: 1.25, want: size(377, 212) },
    { name: 'not laid out (display: none): nothing to send', css: [0, 0], dpr: 2, want: null },
    { name: 'zero height alone is not laid out either', css: [320, 0], dpr: 1, want: null },
    { name: 'a wall of 8K is capped at the protocol bounds', css: [5000, 3000], dpr: 2, want: size(7680, 4320) },
    { name: 'a nonsense ratio counts as 1', css: [320, 180], dpr: Number.NaN, want: size(320, 180) },
    { name: 'a tiny tile is at least 1 x 1', css: [0.2, 0.2], dpr: 1, want: size(1, 1) },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(deviceViewSize(r.css[0], r.css[1], r.dpr), r.want));
});

describe('whether a size change is worth a setConsumerView', () => {
  const rows: { name: string; sent: ViewSize | null; next: ViewSize | null; want: boolean }[] = [
    { name: 'the first size is always sent', sent: null, next: size(320, 180), want: true },
    { name: 'nothing to send when not laid out', sent: size(320, 180), next: null, want: false },
    { name: 'a few pixels of a window drag are not sent', sent: size(640, 360), next: size(652, 367), want: false },
    { name: 'a 10 % change is sent', sent: size(640, 360), next: size(704, 396), want: true },
    { name: 'a tile made small is sent', sent: size(1280, 720), next: size(160, 90), want: true },
    { name: 'only the height changing much is enough', sent: size(640, 360), next: size(640, 200), want: true },
  ];
  for (const r of rows) it(r.name, () => assert.equal(viewWorthSending(r.sent, r.next), r.want));
});

describe('what an attached tile wants', () => {
  const rows: { name: string; s: Sighting; assumeShown?: boolean; want: ConsumerView }[] = [
    { name: 'on screen, visible tab: shown at its size', s: sighting(), want: view(false, size(320, 180)) },
    { name: 'scrolled out of the viewport: paused', s: sighting({ intersecting: false }), want: view(true, size(320, 180)) },
    { name: 'a hidden tab: paused', s: sighting({ pageVisible: false }), want: view(true, size(320, 180)) },
    { name: 'not laid out (another page of the grid): paused', s: sighting({ cssWidth: 0, cssHeight: 0 }), want: view(true, null) },
    { name: 'not observed yet: paused until the first report', s: sighting({ intersecting: null }), want: view(true, size(320, 180)) },
    { name: 'not observed after the wait: taken as shown', s: sighting({ intersecting: null }), assumeShown: true, want: view(false, size(320, 180)) },
    { name: 'a report that says off screen wins over the wait', s: sighting({ intersecting: false }), assumeShown: true, want: view(true, size(320, 180)) },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(wantedView(r.s, r.assumeShown), r.want));
});

describe('the next request for one consumer', () => {
  const rows: { name: string; told: ConsumerView; want: ConsumerView; step: Step | null }[] = [
    { name: 'a new consumer shown: its size first, so the resume key frame is of the right layer', told: view(true, null), want: view(false, size(320, 180)), step: { method: 'setConsumerView', view: size(320, 180) } },
    { name: '…then the resume', told: view(true, size(320, 180)), want: view(false, size(320, 180)), step: { method: 'resumeConsumer' } },
    { name: 'a free consumer (no element): just resumed', told: view(true, null), want: view(false, null), step: { method: 'resumeConsumer' } },
    { name: 'a tile that leaves the screen is paused', told: view(false, size(320, 180)), want: view(true, size(320, 180)), step: { method: 'pauseConsumer' } },
    { name: 'a paused tile resized sends nothing (its size goes before the resume)', told: view(true, size(320, 180)), want: view(true, size(1280, 720)), step: null },
    { name: 'a new consumer whose tile is off screen sends nothing at all', told: view(true, null), want: view(true, size(320, 180)), step: null },
    { name: 'a shown tile made small sends its size', told: view(false, size(1280, 720)), want: view(false, size(160, 90)), step: { method: 'setConsumerView', view: size(160, 90) } },
    { name: 'settled: nothing', told: view(false, size(320, 180)), want: view(false, size(324, 182)), step: null },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(nextStep(r.told, r.want), r.step));
});

describe('when a debounced change is due', () => {
  const rows: { name: string; first: number; last: number; want: number }[] = [
    { name: 'one change: DEBOUNCE_MS later', first: 1_000, last: 1_000, want: 1_000 + DEBOUNCE_MS },
    { name: 'a later change pushes it back', first: 1_000, last: 1_200, want: 1_200 + DEBOUNCE_MS },
    { name: 'a change that never settles is still sent after the max wait', first: 1_000, last: 1_900, want: 1_000 + DEBOUNCE_MAX_WAIT_MS },
  ];
  for (const r of rows) it(r.name, () => assert.equal(debounceDueAt(r.first, r.last), r.want));
});

describe('dynacast: which encodings stay on', () => {
  const rows: { name: string; count: number; max: number; want: boolean[] }[] = [
    { name: 'everyone watches the top layer: all on', count: 3, max: 2, want: [true, true, true] },
    { name: 'only small tiles: layer 0 alone', count: 3, max: 0, want: [true, false, false] },
    { name: 'nobody watches (-1): all off', count: 3, max: -1, want: [false, false, false] },
    { name: 'a demand above the encodings sent: all on', count: 2, max: 2, want: [true, true] },
    { name: 'a single encoding watched', count: 1, max: 0, want: [true] },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(activeEncodings(r.count, r.max), r.want));
});

describe('last-N view', () => {
  it('drops duplicates and refuses more pins than the protocol takes (TypeError)', () => {
    assert.deepEqual(normalizeView({ pinned: ['a', 'a'], page: ['b', 'c', 'b'] }), { pinned: ['a'], page: ['b', 'c'] });
    assert.throws(() => normalizeView({ pinned: Array.from({ length: 10 }, (_, i) => `p${i}`), page: [] }), TypeError);
    assert.throws(() => normalizeView({ pinned: [], page: Array.from({ length: 101 }, (_, i) => `p${i}`) }), TypeError);
  });
  it('compares views as sets', () => {
    assert.equal(sameView({ pinned: ['a'], page: ['b', 'c'] }, { pinned: ['a'], page: ['c', 'b'] }), true);
    assert.equal(sameView({ pinned: [], page: ['b'] }, { pinned: ['b'], page: [] }), false);
    assert.equal(sameView(null, { pinned: [], page: [] }), false);
  });
  it('forwards everyone until the node says otherwise, and again after a session ends', () => {
    const n = new LastN();
    assert.equal(n.isForwarded('x'), true);
    assert.equal(n.setForwarded(['a', 'b']), true);
    assert.equal(n.setForwarded(['b', 'a']), false, 'same set, no change');
    assert.equal(n.isForwarded('a'), true);
    assert.equal(n.isForwarded('x'), false);
    assert.equal(n.sessionEnded(), true);
    assert.equal(n.forwarded, null);
    assert.equal(n.isForwarded('x'), true);
  });
});

// ConsumerViews with fake timers: the requests a flood of changes makes, and the state it ends on.
describe('consumer views under a flood of changes', () => {
  let now = 0;
  let look: Sighting;
  let sent: { id: string; step: Step }[];
  let answer: () => Promise<unknown>;
  let views: ConsumerViews;
  const tick = async (ms: number): Promise<void> => {
    now += ms;
    mock.timers.tick(ms);
    for (let i = 0; i < 5; i++) await Promise.resolve(); // let answered requests run their follow-ups
  };

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
    now = 0;
    look = sighting();
    sent = [];
    answer = () => Promise.resolve();
    views = new ConsumerViews(() => look, () => now);
    views.setSender((id, step) => {
      sent.push({ id, step });
      return answer();
    });
  });
  afterEach(() => mock.timers.reset());

  /** Video consumer 'v' in an attached tile, started; `sighted`: its first report is in. */
  const tile = (o: { sighted: boolean }): void => {
    views.add('v', 'video');
    views.attached('v');
    views.start('v');
    if (o.sighted) views.sighted('v');
  };

  it('audio and never-attached video are resumed at once, as before adaptive stream', async () => {
    views.add('a', 'audio');
    views.start('a');
    views.add('v', 'video');
    views.start('v');
    await tick(0);
    assert.deepEqual(sent.map((s) => [s.id, s.step.method]), [['a', 'resumeConsumer'], ['v', 'resumeConsumer']]);
  });

  it('an attached tile on screen sends its size, then resumes, on its first report', async () => {
    tile({ sighted: false });
    await tick(10);
    assert.equal(sent.length, 0, 'nothing before the element was seen');
    views.sighted('v');
    await tick(0);
    assert.deepEqual(sent.map((s) => s.step), [{ method: 'setConsumerView', view: size(320, 180) }, { method: 'resumeConsumer' }]);
    assert.deepEqual(views.state('v')!.told, view(false, size(320, 180)));
  });

  it('an attached tile off screen is never resumed', async () => {
    look = sighting({ intersecting: false });
    tile({ sighted: true });
    await tick(FIRST_SIGHTING_WAIT_MS * 2);
    assert.equal(sent.length, 0);
    assert.equal(views.state('v')!.told.paused, true);
  });

  it('without any report, the tile is resumed after the first-sighting wait', async () => {
    look = sighting({ intersecting: null });
    tile({ sighted: false });
    await tick(FIRST_SIGHTING_WAIT_MS - 1);
    assert.equal(sent.length, 0);
    await tick(1);
    assert.deepEqual(sent.map((s) => s.step.method), ['setConsumerView', 'resumeConsumer']);
  });

  it('a scroll flood of 40 in/out flips sends at most a few requests and ends on the final state', async () => {
    tile({ sighted: true });
    await tick(0);
    sent = [];
    for (let i = 0; i < 40; i++) {
      look = sighting({ intersecting: i % 2 === 0 });
      views.sighted('v');
      await tick(30);
    }
    // The last flip left it off screen.
    await tick(DEBOUNCE_MAX_WAIT_MS);
    assert.ok(sent.length <= 3, `few requests (${sent.length})`);
    assert.equal(views.state('v')!.told.paused, true);
    assert.equal(views.state('v')!.pending, false);
  });

  it('changes while a request is in flight wait for its answer, then the final state is sent', async () => {
    let release: () => void = () => undefined;
    answer = () => new Promise<void>((r) => { release = r; });
    tile({ sighted: true }); // setConsumerView 320x180 in flight
    look = sighting({ cssWidth: 1280, cssHeight: 720 });
    views.changed('v');
    await tick(DEBOUNCE_MS);
    assert.equal(sent.length, 1, 'never two at once');
    answer = () => Promise.resolve();
    release();
    await tick(0);
    assert.deepEqual(sent.map((s) => s.step), [
      { method: 'setConsumerView', view: size(320, 180) },
      { method: 'setConsumerView', view: size(1280, 720) },
      { method: 'resumeConsumer' },
    ]);
  });

  it('a refused request is not retried in a loop', async () => {
    answer = () => Promise.reject(new Error('invalid_state'));
    const warn = mock.method(console, 'warn', () => undefined);
    tile({ sighted: true });
    await tick(DEBOUNCE_MAX_WAIT_MS);
    warn.mock.restore();
    assert.deepEqual(sent.map((s) => s.step.method), ['setConsumerView', 'resumeConsumer']);
  });

  it('a detached tile is paused; a removed consumer sends nothing more', async () => {
    tile({ sighted: true });
    await tick(0);
    views.detached('v');
    await tick(DEBOUNCE_MS);
    assert.equal(sent.at(-1)!.step.method, 'pauseConsumer');
    const before = sent.length;
    views.attached('v');
    views.remove('v');
    await tick(FIRST_SIGHTING_WAIT_MS);
    assert.equal(sent.length, before);
    assert.equal(views.state('v'), null);
  });
});
