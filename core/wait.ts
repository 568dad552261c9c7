export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every 50 ms until it holds, or throws `timed out: <what>` after `timeoutMs`: a wait
 * with a bound, for the bench and the tests (never a fixed sleep standing in for an event).
 */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out: ${what}`);
}
