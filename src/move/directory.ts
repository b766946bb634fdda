import { fetchDeploymentInfo, type DeploymentInfoAnswer } from '../cli/api-client.js';
import { HomeportError } from '../errors.js';
import { readAccess, type Access } from './access.js';
import type { MoveCalls } from './calls.js';
import { normalizeServerUri } from './server-uri.js';
import type { MoveServer } from './types.js';

/**
 * The deployments of a move, by profile name, with what each says about itself
 * (`GET /api/info`) and about the user (`GET /api/users/me`), each asked once.
 *
 * @example
 *   const dir = new ServerDirectory(servers, calls);
 *   const home = await dir.findByBootstrapUri(device.bootstrap_server_uri);
 */
export class ServerDirectory {
  private readonly infos = new Map<string, Promise<DeploymentInfoAnswer>>();
  private readonly accesses = new Map<string, Promise<Access>>();
  private readonly byName = new Map<string, MoveServer>();

  constructor(
    readonly servers: readonly MoveServer[],
    private readonly calls: MoveCalls,
  ) {
    for (const server of servers) this.byName.set(server.name, server);
  }

  /** The server of this profile name, or PROFILE_NOT_FOUND listing the known ones. */
  get(name: string, role: string): MoveServer {
    const server = this.byName.get(name);
    if (server) return server;
    const known = this.servers.map((s) => s.name).join(', ') || 'none';
    throw new HomeportError(
      'PROFILE_NOT_FOUND',
      `Cannot use '${name}' as ${role}: there is no server profile of that name (known: ` +
        `${known}). Add it with: homeport login ${name} --url https://HOST:8443 --username USER ` +
        '--password-stdin.',
    );
  }

  info(server: MoveServer): Promise<DeploymentInfoAnswer> {
    return once(this.infos, server.name, () => {
      this.calls.report({ server: server.name, method: 'GET', path: '/api/info', sent: true });
      return fetchDeploymentInfo(server.client);
    });
  }

  access(server: MoveServer): Promise<Access> {
    return once(this.accesses, server.name, () => readAccess(this.calls, server));
  }

  /**
   * The server whose Bootstrap Server is `uri`, compared normalised (scheme and host case,
   * default port, trailing slash). Stops with MOVE_HOME_UNKNOWN, naming the address to add as
   * a profile, when none is. Servers that cannot be reached are named in that message.
   */
  async findByBootstrapUri(uri: string, mac: string): Promise<MoveServer> {
    const wanted = normalizeServerUri(uri);
    const unreachable: string[] = [];
    for (const server of this.servers) {
      try {
        const info = await this.info(server);
        if (wanted !== undefined && normalizeServerUri(info.services.bootstrap.url) === wanted) {
          return server;
        }
      } catch (err) {
        unreachable.push(`${server.name} (${(err as Error).message})`);
      }
    }
    const also = unreachable.length
      ? ` These profiles could not be asked: ${unreachable.join('; ')}.`
      : '';
    throw new HomeportError(
      'MOVE_HOME_UNKNOWN',
      `Cannot move ${mac}: its Bootstrap Server (Server 0) is ${uri}, and none of the server ` +
        `profiles (${this.servers.map((s) => s.name).join(', ')}) is the deployment of that ` +
        'Bootstrap Server. Log in to its API gateway first (homeport login NAME --url ' +
        `https://HOST:8443 …, the deployment whose BS is ${uri}), or name it with --home.${also} ` +
        'Nothing was changed.',
    );
  }
}

/**
 * The promise made for `key`, made by `make` the first time: how shared steps run once for all
 * the devices that need them. A failure is not kept, so the next device tries again.
 */
export function once<T>(
  cache: Map<string, Promise<T>>,
  key: string,
  make: () => Promise<T>,
): Promise<T> {
  let value = cache.get(key);
  if (!value) {
    value = make();
    cache.set(key, value);
    value.catch(() => cache.delete(key));
  }
  return value;
}
