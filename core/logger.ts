import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

// Pretty output for a person at a terminal, JSON lines for everything else (log shippers,
// CI, child processes whose stdout is a pipe).
export function createLogger(options: { level: LevelWithSilent; name?: string; pretty?: boolean }): Logger {
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  return pino({
    level: options.level,
    ...(options.name ? { name: options.name } : {}),
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  });
}
