import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * The process logger. Levels: info = lifecycle (listening, stopped), debug = one device or
 * request, trace = each message. The serializers are an allow-list: a request is logged as its
 * method, URL and id, never its headers or body, so no token or password reaches a log.
 *
 * @example
 *   const log = createLogger({ level: 'info' });
 *   log.child({ service: 'api' }).info({ url }, 'listening');
 */
export function createLogger(
  options: { level?: string; name?: string; destination?: number } = {},
): Logger {
  const config: LoggerOptions = {
    level: options.level ?? process.env.HOMEPORT_LOG_LEVEL ?? 'info',
    base:
      options.name === undefined ? { pid: process.pid } : { pid: process.pid, name: options.name },
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({
        method: req.method,
        url: req.url?.split('?')[0],
        id: req.id,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
  return options.destination === undefined
    ? pino(config)
    : pino(config, pino.destination({ fd: options.destination, sync: true }));
}

/** A logger that drops everything, for library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
