import { after, before } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import { startCluster } from './cluster.js';

// The setup the browser tests share, as hooks of the describe block that calls it: headless
// Chromium (and for most, `octomesh start`) up before its tests and down after them, and pages
// that record their uncaught errors, which a test ends by asserting there were none.

export type Cluster = Awaited<ReturnType<typeof startCluster>>;

export interface OpenOptions {
  viewport?: { width: number; height: number };
  /** Open in this context (its headers, viewport); else a page in a context of its own. */
  context?: BrowserContext;
  /** Runs on the new page before it loads (an init script, a fake camera). */
  beforeLoad?: (page: Page) => Promise<unknown>;
}

export interface BrowserPages {
  readonly browser: Browser;
  /** Uncaught errors of the pages opened here, `label: message`. */
  readonly errors: string[];
  /** A page that records its uncaught errors under `label`, loaded at `url`. */
  open(label: string, url: string, opts?: OpenOptions): Promise<Page>;
}

export interface BrowserCluster extends BrowserPages {
  readonly cluster: Cluster;
  /** `open` at the cluster's web app, `query` being what follows `/?` (room, name, region...). */
  openApp(label: string, query: string, opts?: OpenOptions): Promise<Page>;
}

const started = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`${what} is not started (read it in a test or a later hook)`);
  return value;
};

function pages(browser: () => Browser): BrowserPages {
  const errors: string[] = [];
  return {
    get browser() { return browser(); },
    errors,
    async open(label, url, opts = {}) {
      const page = opts.context ? await opts.context.newPage() : await browser().newPage(opts.viewport ? { viewport: opts.viewport } : {});
      page.on('pageerror', (e) => errors.push(`${label}: ${e.message}`));
      await opts.beforeLoad?.(page);
      await page.goto(url);
      return page;
    },
  };
}

/** Chromium (from `launch`) for the calling describe block; the block starts its own servers. */
export function useBrowser(launch: () => Promise<Browser> = launchChromium): BrowserPages {
  let browser: Browser | undefined;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });
  return pages(() => started(browser, 'the browser'));
}

/** `octomesh start` (with `env`) and Chromium (from `launch`) for the calling describe block. */
export function useBrowserCluster(opts: { env?: Record<string, string>; launch?: () => Promise<Browser> } = {}): BrowserCluster {
  let cluster: Cluster | undefined;
  let browser: Browser | undefined;
  before(async () => {
    cluster = await startCluster(opts.env);
    browser = await (opts.launch ?? launchChromium)();
  });
  after(async () => {
    await browser?.close();
    await cluster?.stop();
  });
  const shared = pages(() => started(browser, 'the browser'));
  return {
    get browser() { return shared.browser; },
    errors: shared.errors,
    open: shared.open,
    get cluster() { return started(cluster, 'the cluster'); },
    openApp(label, query, o) {
      return shared.open(label, `${started(cluster, 'the cluster').base}/?${query}`, o);
    },
  };
}
