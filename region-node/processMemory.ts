import { readFileSync } from 'node:fs';

/**
 * Resident set size of a process now, in bytes, from /proc (Linux); null elsewhere or when
 * the process is gone. getrusage's ru_maxrss is a high-water mark: it never shows memory
 * coming back, which is what a leak check needs to see.
 */
export function residentBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
