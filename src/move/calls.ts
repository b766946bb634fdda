import type { ApiReply, ConditionalPut } from '../cli/api-client.js';
import type { ApiCall, MoveServer } from './types.js';

type Change = 'POST' | 'PUT' | 'DELETE';

/**
 * Every API call of a move goes through here: reads always run (a dry run plans with them),
 * changes run unless this is a dry run, and each call is reported to `onCall`, so that
 * `--dry-run` can list exactly the calls a move would make.
 *
 * @example
 *   const calls = new MoveCalls({ dryRun: true, onCall: (c) => console.log(c.method, c.path) });
 *   await calls.change(s0, 'PUT', `/api/management/devices/${mac}/bootstrap-server/7`);
 */
export class MoveCalls {
  readonly dryRun: boolean;
  private readonly onCall: ((call: ApiCall) => void) | undefined;

  constructor(options: { dryRun: boolean; onCall?: ((call: ApiCall) => void) | undefined }) {
    this.dryRun = options.dryRun;
    this.onCall = options.onCall;
  }

  /** A GET, sent even in a dry run. */
  read<T>(server: MoveServer, path: string): Promise<ApiReply<T>> {
    this.report({ server: server.name, method: 'GET', path, sent: true });
    return server.client.get<T>(path);
  }

  /** A GET that also returns the ETag, for a conditional PUT. */
  readWithEtag<T>(server: MoveServer, path: string): Promise<ApiReply<T> & { etag: string }> {
    this.report({ server: server.name, method: 'GET', path, sent: true });
    return server.client.getWithEtag<T>(path);
  }

  /**
   * A POST, PUT or DELETE; in a dry run it is only recorded and answers `undefined`.
   * `summary` says in a few words what the body does.
   */
  async change<T>(
    server: MoveServer,
    method: Change,
    path: string,
    body?: unknown,
    summary?: string,
  ): Promise<ApiReply<T> | undefined> {
    this.report({
      server: server.name,
      method,
      path,
      ...(summary !== undefined && { summary }),
      sent: !this.dryRun,
    });
    if (this.dryRun) return undefined;
    if (method === 'POST') return server.client.post<T>(path, body);
    if (method === 'PUT') return server.client.put<T>(path, body);
    return server.client.delete<T>(path, body);
  }

  /** A PUT with If-Match; a dry run records it and answers as if it had been applied. */
  async putIfMatch<T>(
    server: MoveServer,
    path: string,
    etag: string,
    body: unknown,
    summary: string,
  ): Promise<ConditionalPut<T> | { updated: true; reply: undefined }> {
    const shown = `If-Match ${etag}; ${summary}`;
    this.report({ server: server.name, method: 'PUT', path, summary: shown, sent: !this.dryRun });
    if (this.dryRun) return { updated: true, reply: undefined };
    return server.client.putIfMatch<T>(path, etag, body);
  }

  /** Records a read the dry run would repeat later (polling), without making it now. */
  note(server: MoveServer, path: string, summary: string): void {
    this.report({ server: server.name, method: 'GET', path, summary, sent: false });
  }

  /** Reports a call made by other means (an unauthenticated read such as /api/info). */
  report(call: ApiCall): void {
    this.onCall?.(call);
  }
}
