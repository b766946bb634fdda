import { isIPv6 } from 'node:net';
import type { Logger } from '../log.js';
import type { Device, ManagementServer, Repository } from '../store/index.js';
import type { ManagementTarget } from './context.js';

/**
 * The Server URI the BS writes into `/0/1` resource 0 for a Management Server
 * (docs/protocol.md §2), an IPv6 literal in brackets (RFC 3986 §3.2.2).
 *
 * @example
 *   managementServerUri('2001:db8::5', 8883); // 'mqtts://[2001:db8::5]:8883'
 */
export function managementServerUri(address: string, port: number): string {
  return `mqtts://${isIPv6(address) ? `[${address}]` : address}:${port}`;
}

/** Where the BS sends devices assigned to `server`. */
export function targetOf(server: ManagementServer): ManagementTarget {
  return { uri: managementServerUri(server.address, server.port), anchorPem: server.caPem };
}

/**
 * True when `reported`, a Server URI a device sent back as `failed_server`, names the same
 * host and port as `uri`: scheme and host compared without regard to case, a trailing slash
 * ignored.
 *
 * @example
 *   sameServerUri('MQTTS://Ms.Example:8883/', 'mqtts://ms.example:8883'); // true
 */
export function sameServerUri(reported: string, uri: string): boolean {
  const a = parseUri(reported);
  const b = parseUri(uri);
  if (!a || !b) return reported.trim().toLowerCase() === uri.toLowerCase();
  return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port;
}

function parseUri(text: string): URL | undefined {
  try {
    return new URL(text.trim().toLowerCase());
  } catch {
    return undefined;
  }
}

/**
 * The BS's answer to "where does this device go" (ARCHITECTURE §4): the definition the device
 * is assigned to, or the co-located MS when it has none. A device whose definition has gone
 * (possible only on SQLite, which has no foreign key there) is sent to the co-located MS.
 *
 * @example
 *   const targetFor = managementTargetResolver(repo, () => coLocated, log);
 *   const { uri, anchorPem } = await targetFor(device);
 */
export function managementTargetResolver(
  repo: Repository,
  coLocated: () => ManagementTarget,
  logger: Logger,
): (device: Device) => Promise<ManagementTarget> {
  return async (device) => {
    if (device.managementServerId === null) return coLocated();
    const server = await repo.getManagementServer(device.managementServerId);
    if (server) return targetOf(server);

    logger.warn(
      { mac: device.mac, managementServerId: device.managementServerId },
      'device assigned to a management server that is not defined; sending it to the co-located MS',
    );
    return coLocated();
  };
}
