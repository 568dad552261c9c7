import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/browser.js';
import type { NetLab } from './netlab.js';

// One headless Chromium per client host. Playwright launches it through a two-line wrapper that
// enters the host's network namespace (nsenter execs Chromium in place, keeping the pipe fds
// Playwright talks CDP over), so the browser's traffic leaves from the client's address while
// Playwright stays in the lab's process 1.

export interface LabUser {
  name: string;
  host: string;
  browser: Browser;
  page: Page;
  errors: string[];
}

export async function launchUser(opts: {
  lab: NetLab;
  host: string;
  name: string;
  workDir: string;
  /** The lab certificate's public key hash: trusted for this browser, nothing else is. */
  spki: string;
  extraArgs?: string[];
}): Promise<LabUser> {
  const { lab, host } = opts;
  const wrapper = join(opts.workDir, `chromium-${host}.sh`);
  await writeFile(wrapper, `#!/bin/sh\nexec nsenter -t ${lab.host(host).pid} -n -- ${CHROMIUM} "$@"\n`);
  await chmod(wrapper, 0o755);
  const browser = await chromium.launch({
    executablePath: wrapper,
    args: [
      ...CHROMIUM_ARGS,
      `--ignore-certificate-errors-spki-list=${opts.spki}`,
      ...(opts.extraArgs ?? []),
    ],
  });
  // Tiles drawn big (a 1920x1080 window: three tiles of ~790x444): adaptive stream then asks for
  // the top layer of every remote camera, so what each user gets is what its path and the
  // server's bandwidth estimate allow, which is what the lab measures (a small tile would cap it
  // at layer 0 or 1). At 2x the three browsers' drawing kept the machine 90-97 % busy.
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { name: opts.name, host, browser, page, errors };
}

export async function closeUser(u: LabUser | undefined): Promise<void> {
  await u?.browser.close().catch(() => undefined);
}
