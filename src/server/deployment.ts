import { X509Certificate, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApiApp } from '../api/app.js';
import { LoginThrottle } from '../api/auth/throttle.js';
import { TokenService } from '../api/auth/tokens.js';
import type { DeploymentInfo, LiveServices, ServiceName } from '../api/context.js';
import { DEFAULT_BOOTSTRAP_POLICY, type BootstrapPolicy } from '../bootstrap/config.js';
import { HoldOff } from '../bootstrap/hold-off.js';
import { managementTargetResolver } from '../bootstrap/management-target.js';
import { startBootstrapServer, type BootstrapServer } from '../bootstrap/server.js';
import { startContentServer } from '../content/server.js';
import type { Logger } from '../log.js';
import { startManagementServer, type ManagementServer } from '../management/server.js';
import {
  fingerprint256,
  loadOrCreateDeploymentPki,
  toPemBundle,
  type DeploymentPki,
} from '../pki/index.js';
import { openStore, type Repository } from '../store/index.js';
import { ensureAdmin } from './admin.js';
import { lockDataDir } from './lock.js';
import { Services } from './services.js';
import { initialManagementTrust, manufacturerTrust } from './trust-lists.js';

export { DEFAULT_PORTS } from './ports.js';

export interface DeploymentOptions {
  /** Data directory: store, PKI, keys and content. Created if missing. */
  dataDir: string;
  /** Bind address, and the name or address put in certificates and given to devices. */
  host: string;
  /** Port per service; 0 picks a free one. */
  ports: Record<ServiceName, number>;
  /** Display name; kept from the previous start when omitted. */
  name?: string;
  /** `postgres://…`; omitted means SQLite in the data directory. */
  databaseUrl?: string;
  /** The SysAdmin's password on the first start (HOMEPORT_ADMIN_PASSWORD). */
  adminPassword?: string;
  /** Manufacturer CA bundles (PEM text) to add to the trusted manufacturers. */
  manufacturerCas?: readonly string[];
  /** What the BS tells devices (timers) and how it holds them off. */
  bootstrapPolicy?: Partial<BootstrapPolicy>;
  logger: Logger;
}

/** The services that can be stopped and started again on their own (for drills and tests). */
export type RestartableService = 'bootstrap' | 'management';

export interface Deployment {
  readonly info: DeploymentInfo;
  readonly repo: Repository;
  readonly pki: DeploymentPki;
  /** Set on the first start when no admin password was given: show it once. */
  readonly generatedAdminPassword?: string;
  /** Stops one service, leaving the others running. */
  stopService(service: RestartableService): Promise<void>;
  /** Starts a stopped service again on the same port. */
  startService(service: RestartableService): Promise<void>;
  close(): Promise<void>;
}

function serviceUrl(scheme: string, host: string, port: number): string {
  return `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * Starts one deployment: the API gateway, Bootstrap, Management and Content Servers over one
 * store and one PKI, in this process. Everything started is closed again if a later step fails.
 *
 * @example
 *   const d = await startDeployment({ dataDir, host: '127.0.0.1', ports: DEFAULT_PORTS, logger });
 *   console.log(d.info.services.api.url);
 *   await d.close();
 */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const log = options.logger;
  const dataDir = resolve(options.dataDir);
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      await close().catch((err: unknown) => log.warn({ err }, 'error while stopping'));
    }
    closers.length = 0;
  };

  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const lock = await lockDataDir(dataDir, log);
    closers.push(() => lock.release());

    const repo = await openStore(options.databaseUrl, { dataDir, logger: log });
    closers.push(() => repo.close());
    const { id, name } = await identity(repo, options);

    const host = options.host;
    const pki = await loadOrCreateDeploymentPki(join(dataDir, 'pki'), {
      name,
      hosts: [host],
      logger: log,
    });
    const admin = await ensureAdmin(repo, options.adminPassword, log);
    const tokens = await TokenService.open(dataDir, id);
    const deviceChain = [pki.deviceIssuing.cert, pki.deviceRoot.cert];
    const deviceChainPems = deviceChain.map((c) => toPemBundle([c]));
    let manufacturers = await manufacturerTrust(repo, options.manufacturerCas ?? [], log);
    let managementTrust = await initialManagementTrust(repo, deviceChain);

    const services = new Services();
    closers.push(() => services.closeAll());
    const info: DeploymentInfo = {
      name,
      serverRootFingerprint: pki.serverRootFingerprint,
      services: {
        api: endpoint('https', host, options.ports.api),
        bootstrap: endpoint('https', host, options.ports.bootstrap),
        management: endpoint('mqtts', host, options.ports.management),
        content: endpoint('https', host, options.ports.content),
      },
    };

    services.define('management', async () => {
      const ms = await startManagementServer({
        host,
        port: info.services.management.port,
        key: pki.services.management.keyPem,
        cert: pki.services.management.chainPem,
        trustedCas: managementTrust,
        repo,
        logger: log.child({ service: 'management' }),
      });
      info.services.management = endpoint('mqtts', host, ms.port);
      return ms;
    });
    services.define('bootstrap', async () => {
      const bsLog = log.child({ service: 'bootstrap' });
      const bs = await startBootstrapServer(
        {
          repo,
          policy: { ...DEFAULT_BOOTSTRAP_POLICY, ...options.bootstrapPolicy },
          holdOff: new HoldOff({
            perSecond:
              options.bootstrapPolicy?.admitPerSecond ?? DEFAULT_BOOTSTRAP_POLICY.admitPerSecond,
            burst: options.bootstrapPolicy?.admitBurst ?? DEFAULT_BOOTSTRAP_POLICY.admitBurst,
            spread:
              options.bootstrapPolicy?.holdOffSpread ?? DEFAULT_BOOTSTRAP_POLICY.holdOffSpread,
          }),
          deviceIssuing: pki.deviceIssuing,
          deviceIssuingCert: new X509Certificate(Buffer.from(pki.deviceIssuing.cert.rawData)),
          deviceCaChain: deviceChain,
          // ARCHITECTURE §4: the definition the device is assigned to, else the co-located MS.
          managementTargetFor: managementTargetResolver(
            repo,
            () => ({ uri: info.services.management.url, anchorPem: pki.serverRootPem }),
            bsLog,
          ),
          logger: bsLog,
        },
        {
          host,
          port: info.services.bootstrap.port,
          key: pki.services.bootstrap.keyPem,
          cert: pki.services.bootstrap.chainPem,
          clientCas: [...deviceChainPems, ...manufacturers],
        },
      );
      info.services.bootstrap = endpoint('https', host, bs.port);
      return bs;
    });
    await services.start('management');
    await services.start('bootstrap');

    const cs = await startContentServer({
      host,
      port: options.ports.content,
      key: pki.services.content.keyPem,
      cert: pki.services.content.chainPem,
      root: join(dataDir, 'content'),
      logger: log.child({ service: 'content' }),
    });
    closers.push(() => cs.close());
    info.services.content = endpoint('https', host, cs.port);

    const live: LiveServices = {
      applyManagementTrust: (pems) => {
        managementTrust = [...pems];
        services.get<ManagementServer>('management')?.applyTrust(pems);
        return Promise.resolve();
      },
      applyManufacturers: (pems) => {
        manufacturers = [...pems];
        services.get<BootstrapServer>('bootstrap')?.setClientCas([...deviceChainPems, ...pems]);
        return Promise.resolve();
      },
      commandsQueued: (mac) => services.get<ManagementServer>('management')?.commandsQueued(mac),
      disconnectDevice: (mac) => services.get<ManagementServer>('management')?.disconnect(mac),
    };
    const api = await buildApiApp(
      {
        repo,
        tokens,
        throttle: new LoginThrottle(),
        info: () => info,
        live,
        deviceRootFingerprint: fingerprint256(pki.deviceRoot.cert),
      },
      {
        logger: log.child({ service: 'api' }),
        tls: { key: pki.services.api.keyPem, cert: pki.services.api.chainPem },
      },
    );
    await api.listen({
      host,
      port: options.ports.api,
      listenTextResolver: (url) => `api listening on ${url}`,
    });
    closers.push(() => api.close());
    info.services.api = endpoint('https', host, portOf(api));

    // Fastify logs the API's and the BS's line itself; these are the other two.
    for (const service of ['management', 'content'] as const) {
      const { url } = info.services[service];
      log.info({ service, url }, `${service} listening on ${url}`);
    }
    return {
      info,
      repo,
      pki,
      ...(admin.generatedPassword !== undefined && {
        generatedAdminPassword: admin.generatedPassword,
      }),
      stopService: (service) => services.stop(service),
      startService: (service) => services.start(service),
      close: async () => {
        await closeAll();
        log.info({ name }, 'deployment stopped');
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function endpoint(scheme: string, host: string, port: number) {
  return { host, port, url: serviceUrl(scheme, host, port) };
}

function portOf(app: FastifyInstance): number {
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

async function identity(repo: Repository, options: DeploymentOptions) {
  let id = await repo.getMeta('deployment_id');
  if (!id) {
    id = randomUUID();
    await repo.setMeta('deployment_id', id);
  }
  const stored = await repo.getMeta('name');
  const name = options.name ?? stored ?? `Homeport ${options.host}`;
  if (name !== stored) await repo.setMeta('name', name);
  return { id, name };
}
