import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize, sep } from 'node:path';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';

export interface ContentServerOptions {
  host: string;
  port: number;
  key: string;
  cert: string;
  /** Files are served from here by their relative path. */
  root: string;
  logger: Logger;
}

export interface ContentServer {
  readonly port: number;
  close(): Promise<void>;
}

type Range = { start: number; end: number } | 'unsatisfiable' | undefined;

/** RFC 9110 §14.1.2: a single `bytes=` range; several ranges are answered with the whole file. */
export function parseRange(header: string | undefined, size: number): Range {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match) return undefined;
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return undefined;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

function send(res: ServerResponse, code: ErrorCode, message: string): void {
  res.writeHead(ERROR_CODES[code], { 'content-type': 'application/json' });
  res.end(JSON.stringify({ success: false, code, message }));
}

function decodePath(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url, 'https://content').pathname).slice(1);
  } catch {
    return undefined;
  }
}

async function serve(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return send(res, 'METHOD_NOT_ALLOWED', 'Only GET and HEAD.');
  const relative = decodePath(req.url ?? '/');
  if (relative === undefined) return send(res, 'CONTENT_NOT_FOUND', 'The path is not valid UTF-8.');
  const path = normalize(join(root, relative));
  if (!relative || !path.startsWith(root + sep))
    return send(res, 'CONTENT_NOT_FOUND', `No file at /${relative}.`);

  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return send(res, 'CONTENT_NOT_FOUND', `No file at /${relative}.`);

  const range = parseRange(req.headers.range, info.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${info.size}` });
    res.end();
    return;
  }
  const headers = {
    'accept-ranges': 'bytes',
    'content-type': 'application/octet-stream',
    'last-modified': info.mtime.toUTCString(),
  };
  if (range) {
    res.writeHead(206, {
      ...headers,
      'content-length': range.end - range.start + 1,
      'content-range': `bytes ${range.start}-${range.end}/${info.size}`,
    });
  } else {
    res.writeHead(200, { ...headers, 'content-length': info.size });
  }
  if (req.method === 'HEAD') return void res.end();
  createReadStream(path, range ?? {}).pipe(res);
}

/**
 * The Content Server: files and firmware images for devices over HTTPS, with byte ranges so an
 * interrupted download resumes where it stopped.
 *
 * @example
 *   const cs = await startContentServer({ host, port: 8885, key, cert, root, logger });
 */
export async function startContentServer(options: ContentServerOptions): Promise<ContentServer> {
  await mkdir(options.root, { recursive: true });
  const root = normalize(options.root);
  const server: Server = createServer(
    { key: options.key, cert: options.cert, noDelay: true },
    (req, res) => {
      serve(root, req, res).catch((err: unknown) => {
        options.logger.error({ err }, 'content request failed');
        if (!res.headersSent) send(res, 'INTERNAL', 'Internal error.');
        else res.destroy();
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
