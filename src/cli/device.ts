import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { DeviceAgent, type StateChange } from '../device/agent.js';
import type { BootstrapOutcome } from '../device/bootstrap-flow.js';
import type { BootstrapAccount } from '../device/state.js';
import type { BootstrapReason } from '../device/types.js';
import { HomeportError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';

interface DeviceFlags {
  state: string;
  bootstrap?: string;
  bootstrapCa?: string;
  json?: boolean;
}

const help = readFileSync(new URL('../../src/cli/help/device.txt', import.meta.url), 'utf8');

export function registerDeviceCommand(program: Command): void {
  program
    .command('device')
    .description('Run one device from its factory folder: bootstrap, enroll, stay managed.')
    .requiredOption('--state <dir>', 'the device folder made by homeport factory')
    .option(
      '--bootstrap <url>',
      'Bootstrap Server, https://HOST:PORT (first start)',
      parseBootstrapUrl,
    )
    .option('--bootstrap-ca <file>', "the Bootstrap Server's root certificate, PEM (first start)")
    .option('--json', 'one JSON line per event on stdout')
    .addHelpText('after', help)
    .action((flags: DeviceFlags) => runDevice(flags));
}

async function runDevice(flags: DeviceFlags): Promise<void> {
  const log = createLogger({ destination: 2 });
  const bootstrap = bootstrapAccount(flags.bootstrap, flags.bootstrapCa);
  const agent = new DeviceAgent({
    folder: flags.state,
    ...(bootstrap && { bootstrap }),
    logger: log,
  });
  const print = flags.json ? printJson : printHuman;
  agent.on('state', (change) => print({ event: 'state', ...change }));
  agent.on('bootstrapped', (outcome) =>
    print({ event: 'bootstrapped', endpoint: agent.endpoint ?? '', ...outcome }),
  );

  await agent.start();
  stopOnSignals(log, [agent]);
}

/**
 * The bootstrap account from `--bootstrap` and `--bootstrap-ca`: both or neither (a device
 * that has started before keeps the account it has).
 */
export function bootstrapAccount(
  url: string | undefined,
  caFile: string | undefined,
): BootstrapAccount | undefined {
  if (url === undefined && caFile === undefined) return undefined;
  if (url === undefined || caFile === undefined) {
    throw new HomeportError(
      'VALIDATION',
      'Cannot start the device: give --bootstrap and --bootstrap-ca together.',
    );
  }
  return { url, caPem: readPem(caFile) };
}

/** Parses `--bootstrap`: https://HOST:PORT with nothing after it. */
export function parseBootstrapUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:' || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new InvalidArgumentError(
      `'${value}' is not a Bootstrap Server URL; give https://HOST:PORT.`,
    );
  }
  return url.origin;
}

/**
 * SIGINT and SIGTERM stop the devices cleanly (offline status, DISCONNECT) and exit 0; a second
 * signal exits at once.
 */
export function stopOnSignals(
  log: Logger,
  agents: { stop(): Promise<void> }[],
  before?: () => void,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    before?.();
    log.info({ signal }, 'stopping');
    Promise.all(agents.map((agent) => agent.stop())).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'could not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

type Event =
  | ({ event: 'state' } & StateChange)
  | ({ event: 'bootstrapped'; endpoint: string; reason: BootstrapReason } & BootstrapOutcome);

function printJson(event: Event): void {
  // The ignored operations are counted, not printed: their values hold trust anchors.
  const ignored = event.event === 'bootstrapped' ? { ignored: event.ignored.length } : {};
  console.log(JSON.stringify({ time: new Date().toISOString(), ...event, ...ignored }));
}

function printHuman(event: Event): void {
  const time = new Date().toTimeString().slice(0, 8);
  console.log(`${time} ${event.endpoint} ${describe(event)}`);
}

function describe(event: Event): string {
  if (event.event === 'bootstrapped') {
    const how = event.reenrolled ? 'renewed' : 'enrolled';
    const what = `${event.reason}, ${event.credential} certificate, ${how}`;
    return `bootstrapped (${what}); Management Server ${event.managementServer}`;
  }
  switch (event.state) {
    case 'bootstrapping':
    case 'enrolling':
      return `${event.state} (${event.reason ?? 'initial'})`;
    case 'connecting':
    case 'online':
      return `${event.state} ${event.server ?? ''}`.trimEnd();
    case 'backing-off':
      return `backing off ${((event.delayMs ?? 0) / 1000).toFixed(1)} s${because(event.error)}`;
    default:
      return event.state;
  }
}

function because(error: string | undefined): string {
  return error ? `: ${error}` : '';
}

function readPem(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new HomeportError(
      'VALIDATION',
      `Cannot read --bootstrap-ca ${file}: ${(err as Error).message}.`,
    );
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new HomeportError(
      'VALIDATION',
      `Cannot use --bootstrap-ca ${file}: it holds no PEM certificate.`,
    );
  }
  return text;
}
