import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createLogger, type Logger } from '../log.js';
import type { Deployment } from '../server/deployment.js';
import { DEFAULT_BOOTSTRAP_POLICY } from '../bootstrap/config.js';
import { DEFAULT_PORTS } from '../server/ports.js';
import { ADMIN_USERNAME } from '../server/admin.js';
import { parseDatabaseUrl, parseHost, parsePort, parsePositive, readPemFile } from './options.js';

interface ServerFlags {
  data: string;
  host: string;
  apiPort: number;
  bootstrapPort: number;
  managementPort: number;
  contentPort: number;
  database?: string;
  name?: string;
  manufacturerCa: string[];
  bootstrapRate: number;
  holdOff: number;
  json?: boolean;
}

const help = readFileSync(new URL('../../src/cli/help/server.txt', import.meta.url), 'utf8');

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('Run a deployment: API, Bootstrap, Management and Content Servers.')
    .option('--data <dir>', 'data directory (store, PKI, keys)', './homeport-data')
    .option('--host <host>', 'bind address, also the name in certificates', parseHost, '127.0.0.1')
    .option('--api-port <port>', 'API gateway port (HTTPS)', parsePort, DEFAULT_PORTS.api)
    .option(
      '--bootstrap-port <port>',
      'Bootstrap Server port (HTTPS)',
      parsePort,
      DEFAULT_PORTS.bootstrap,
    )
    .option(
      '--management-port <port>',
      'Management Server port (MQTT/TLS)',
      parsePort,
      DEFAULT_PORTS.management,
    )
    .option(
      '--content-port <port>',
      'Content Server port (HTTPS)',
      parsePort,
      DEFAULT_PORTS.content,
    )
    .option(
      '--database <url>',
      'PostgreSQL URL (default: SQLite in the data directory)',
      parseDatabaseUrl,
    )
    .option('--name <name>', 'display name of this deployment')
    .option(
      '--manufacturer-ca <file>',
      'trust factory certificates from this manufacturer CA (PEM; repeatable)',
      (file: string, all: string[]) => [...all, readPemFile(file)],
      [] as string[],
    )
    .option(
      '--bootstrap-rate <n>',
      'client hold-off: bootstraps admitted per second (a burst of twice that is allowed)',
      parsePositive('--bootstrap-rate'),
      DEFAULT_BOOTSTRAP_POLICY.admitPerSecond,
    )
    .option(
      '--hold-off <seconds>',
      'a device held off is told to come back within this many seconds, at random',
      parsePositive('--hold-off'),
      DEFAULT_BOOTSTRAP_POLICY.holdOffSpread,
    )
    .option('--json', 'logs to stderr; one JSON line on stdout when ready')
    .addHelpText('after', help)
    .action((flags: ServerFlags) => runServer(flags));
}

async function runServer(flags: ServerFlags): Promise<void> {
  // With --json, stdout carries only the ready line; the log goes to stderr.
  const log = createLogger(flags.json ? { destination: 2 } : {});
  const stopper = handleSignals(log);
  // Loaded here so that the other commands do not pay for the whole server stack at start.
  const { startDeployment } = await import('../server/deployment.js');
  const deployment = await startDeployment({
    dataDir: flags.data,
    host: flags.host,
    ports: {
      api: flags.apiPort,
      bootstrap: flags.bootstrapPort,
      management: flags.managementPort,
      content: flags.contentPort,
    },
    ...(flags.name !== undefined && { name: flags.name }),
    ...(flags.database !== undefined && { databaseUrl: flags.database }),
    ...(process.env.HOMEPORT_ADMIN_PASSWORD && {
      adminPassword: process.env.HOMEPORT_ADMIN_PASSWORD,
    }),
    manufacturerCas: flags.manufacturerCa,
    bootstrapPolicy: {
      admitPerSecond: flags.bootstrapRate,
      admitBurst: flags.bootstrapRate * 2,
      holdOffSpread: flags.holdOff,
    },
    logger: log,
  });
  announce(deployment, flags);
  stopper.attach(deployment);
}

function announce(deployment: Deployment, flags: ServerFlags): void {
  const { info, generatedAdminPassword } = deployment;
  if (flags.json) {
    console.log(
      JSON.stringify({
        event: 'ready',
        name: info.name,
        services: info.services,
        server_root_fingerprint: info.serverRootFingerprint,
        ...(generatedAdminPassword && {
          admin: { username: ADMIN_USERNAME, password: generatedAdminPassword },
        }),
      }),
    );
    return;
  }
  const lines = [
    `Homeport "${info.name}" is running.`,
    `  API and docs:  ${info.services.api.url}/api/docs`,
    `  Server root:   ${flags.data}/pki/server-root.pem (sha256 ${info.serverRootFingerprint})`,
  ];
  if (generatedAdminPassword) {
    lines.push(
      `  SysAdmin:      ${ADMIN_USERNAME} / ${generatedAdminPassword}`,
      '                 (shown this once; set HOMEPORT_ADMIN_PASSWORD on a first start to choose it)',
    );
  }
  console.error(lines.join('\n'));
}

/**
 * SIGINT and SIGTERM close the deployment and exit 0. A signal that arrives while the
 * deployment is still starting takes effect as soon as it is up; a second signal exits at once.
 */
function handleSignals(log: Logger) {
  let deployment: Deployment | undefined;
  let requested: NodeJS.Signals | undefined;

  const stop = () => {
    if (!deployment || !requested) return;
    log.info({ signal: requested }, 'stopping');
    deployment.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'could not stop cleanly');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (requested) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    requested = signal;
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  return {
    attach(started: Deployment) {
      deployment = started;
      stop();
    },
  };
}
