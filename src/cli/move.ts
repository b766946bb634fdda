import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { HomeportError } from '../errors.js';
import { createLogger } from '../log.js';
import {
  listDevices,
  MoveCalls,
  moveDevices,
  type ApiCall,
  type DeviceResult,
  type MoveReport,
  type MoveServer,
  type MoveState,
} from '../move/index.js';
import { readDeviceRows } from './device-csv.js';
import { configPath, clientFor, readProfiles } from './profiles.js';

interface MoveFlags {
  to: string;
  from?: string;
  home?: string;
  file?: string;
  all?: boolean;
  filterCompany?: number;
  onlineOnly?: boolean;
  concurrency: number;
  timeout: number;
  rollback?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

// The live line on a terminal is redrawn five times a second; elsewhere a line every 10 s.
const TTY_REFRESH_MS = 200;
const LOG_REFRESH_MS = 10_000;

const help = readFileSync(new URL('../../src/cli/help/move.txt', import.meta.url), 'utf8');

export function registerMoveCommand(program: Command): void {
  program
    .command('move')
    .description('Move devices to another deployment through their original Bootstrap Server.')
    .argument('[devices...]', 'MAC addresses (any spelling) or aliases')
    .requiredOption('--to <name>', 'the destination: a server profile (Server 2)')
    .option('--from <name>', 'where the devices are managed now (default: where each is online)')
    .option('--home <name>', "the devices' original deployment (default: from what they report)")
    .option('--file <csv>', 'move the MACs of a device sheet (Alias,Serial No,…,MAC,…)')
    .option('--all', 'move every device of --from that matches the filters')
    .option('--filter-company <id>', 'with --all: only devices of this company', parseWhole)
    .option('--online-only', 'with --all: only devices online now')
    .option('--concurrency <n>', 'devices moved at the same time', parseWhole, 8)
    .option('--timeout <seconds>', 'wait this long for each device to arrive', parseSeconds, 120)
    .option('--rollback', 'if a device does not arrive, send it back where it was')
    .option('--dry-run', 'list the API calls the move would make; change nothing')
    .option('--json', 'one JSON object per device (and per call in a dry run), then a summary')
    .addHelpText('after', help)
    .action((devices: string[], flags: MoveFlags) => runMove(devices, flags));
}

/** Move: open every profile, collect the devices, move them, report each and a summary. */
async function runMove(inputs: string[], flags: MoveFlags): Promise<void> {
  checkFlags(inputs, flags);
  const servers = await openServers([flags.to, flags.from, flags.home]);
  const output = printer(flags);
  try {
    const devices = [
      ...inputs,
      ...(await fromFile(flags, output)),
      ...(await fromAll(flags, servers, output)),
    ];
    if (devices.length === 0) {
      output.summary(emptyReport(flags));
      return;
    }
    const progress = progressLine(devices.length, flags);
    const report = await moveDevices({
      servers,
      devices,
      to: flags.to,
      from: flags.from,
      home: flags.home,
      concurrency: flags.concurrency,
      timeoutMs: flags.timeout * 1000,
      rollback: flags.rollback,
      dryRun: flags.dryRun,
      logger: createLogger({ destination: 2, level: process.env.HOMEPORT_LOG_LEVEL ?? 'warn' }),
      onState: (device, state) => progress.state(device, state),
      onResult: output.device,
      onCall: flags.dryRun ? output.call : undefined,
    }).finally(() => progress.stop());
    output.summary(report);
  } finally {
    servers.forEach((s) => s.client.close());
  }
}

function checkFlags(inputs: string[], flags: MoveFlags): void {
  if (flags.all && flags.from === undefined) {
    throw new HomeportError(
      'VALIDATION',
      '--all moves the devices of one server: name it with --from NAME.',
    );
  }
  if (!flags.all && (flags.filterCompany !== undefined || flags.onlineOnly)) {
    throw new HomeportError(
      'VALIDATION',
      '--filter-company and --online-only choose the devices of --all; add --all.',
    );
  }
  if (inputs.length === 0 && flags.file === undefined && !flags.all) {
    throw new HomeportError(
      'VALIDATION',
      'Name the devices to move: MACs or aliases, --file CSV, or --all --from NAME.',
    );
  }
}

/**
 * A client for every profile: Server 0 is found among them. A profile whose login fails is left
 * out with a warning, unless the move names it.
 */
async function openServers(named: (string | undefined)[]): Promise<MoveServer[]> {
  const file = configPath();
  const profiles = await readProfiles(file);
  const servers: MoveServer[] = [];
  for (const name of Object.keys(profiles.servers).sort()) {
    const profile = { name, ...profiles.servers[name] };
    try {
      servers.push({ name, client: await clientFor(profile, { file }), ca: profile.ca });
    } catch (err) {
      if (named.includes(name)) throw err;
      console.error(`warning: leaving out server profile ${name}: ${(err as Error).message}`);
    }
  }
  return servers;
}

async function fromFile(flags: MoveFlags, output: Printer): Promise<string[]> {
  if (flags.file === undefined) return [];
  const file = flags.file;
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new HomeportError('CSV_INVALID', `Cannot read ${file}: ${err.message}.`);
  });
  const macs: string[] = [];
  for (const row of readDeviceRows(text).rows) {
    // Only the MAC matters for a move: a row with another problem still names its device.
    if ('mac_address' in row) macs.push(row.mac_address);
    else if (row.mac !== undefined) macs.push(row.mac);
    else output.problem(`${file} line ${row.line}: ${row.error}`);
  }
  return macs;
}

async function fromAll(
  flags: MoveFlags,
  servers: MoveServer[],
  output: Printer,
): Promise<string[]> {
  if (!flags.all || flags.from === undefined) return [];
  const from = servers.find((s) => s.name === flags.from);
  if (!from) return []; // the move reports the unknown profile
  const calls = new MoveCalls({
    dryRun: flags.dryRun === true,
    onCall: flags.dryRun ? output.call : undefined,
  });
  return listDevices(calls, from, { companyId: flags.filterCompany, onlineOnly: flags.onlineOnly });
}

type Printer = ReturnType<typeof printer>;

/** What goes to stdout: each device when done, each call in a dry run, the summary. */
function printer(flags: MoveFlags) {
  let problems = 0;
  return {
    call: (call: ApiCall) => {
      if (flags.json) console.log(JSON.stringify({ type: 'call', ...call }));
      else console.log(formatCall(call));
    },
    problem: (message: string) => {
      problems++;
      if (flags.json) console.log(JSON.stringify({ type: 'problem', error: message }));
      else console.error(`error: ${message}`);
    },
    device: (result: DeviceResult) => {
      if (flags.json) console.log(JSON.stringify({ type: 'device', ...result }));
      else console.log(formatResult(result));
    },
    summary: (report: MoveReport) => {
      const failed = report.failed + problems;
      if (failed > 0) process.exitCode = 1;
      const { arrived, skipped, seconds } = report;
      const total = report.devices.length + problems;
      const summary = { arrived, failed, skipped, total, seconds, dry_run: report.dryRun };
      if (flags.json) console.log(JSON.stringify({ type: 'summary', ...summary }));
      else console.log(formatSummary(summary));
    },
  };
}

function formatCall({ server, method, path, summary, sent }: ApiCall): string {
  const what = method === 'GET' ? (sent ? 'read ' : 'later') : sent ? 'sent ' : 'would';
  return `${what}  ${server.padEnd(10)} ${method.padEnd(6)} ${path}${summary ? `  (${summary})` : ''}`;
}

function formatResult(r: DeviceResult): string {
  const name = r.mac ?? r.device;
  const route = `${r.from ?? '?'} → ${r.to}, home ${r.home ?? '?'}`;
  if (r.status === 'arrived') return `${name}: arrived on ${r.to} in ${r.seconds} s (${route})`;
  if (r.status === 'skipped') return `${name}: skipped: ${r.note ?? ''}`;
  return `${name}: failed at step ${r.step ?? '?'} (${route}): ${r.error ?? ''}${r.note ? ` ${r.note}` : ''}`;
}

function formatSummary(s: {
  arrived: number;
  failed: number;
  skipped: number;
  seconds: number;
  dry_run: boolean;
}) {
  const counts = `${s.arrived} arrived, ${s.failed} failed, ${s.skipped} skipped in ${s.seconds} s`;
  return s.dry_run ? `${counts} (dry run: nothing was changed)` : counts;
}

function emptyReport(flags: MoveFlags): MoveReport {
  return {
    devices: [],
    arrived: 0,
    failed: 0,
    skipped: 0,
    seconds: 0,
    dryRun: flags.dryRun === true,
  };
}

/** Per-state counts on stderr: redrawn on a terminal, a line now and then elsewhere. */
function progressLine(total: number, flags: MoveFlags) {
  const states = new Map<string, MoveState>();
  const started = Date.now();
  const tty = process.stderr.isTTY;
  const line = () => {
    const count = (s: MoveState) => [...states.values()].filter((v) => v === s).length;
    const done = count('arrived') + count('failed') + count('skipped');
    const parts = (['planning', 'moving', 'waiting', 'arrived', 'failed', 'skipped'] as const)
      .map((s) => `${s} ${count(s)}`)
      .join(' · ');
    return `move ${done}/${total}: ${parts} [${Math.round((Date.now() - started) / 1000)} s]`;
  };
  const draw = () => {
    if (tty) process.stderr.write(`\r\x1b[2K${line()}`);
    else console.error(line());
  };
  const quiet = flags.dryRun || (!tty && total < 2);
  const timer = quiet ? undefined : setInterval(draw, tty ? TTY_REFRESH_MS : LOG_REFRESH_MS);
  return {
    state: (device: string, state: MoveState) => void states.set(device, state),
    stop: () => {
      if (!timer) return;
      clearInterval(timer);
      if (tty) process.stderr.write(`\r\x1b[2K${line()}\n`);
    },
  };
}

function parseWhole(value: string): number {
  const n = Number(value);
  if (/^\d+$/.test(value) && n >= 1 && Number.isSafeInteger(n)) return n;
  throw new InvalidArgumentError(`'${value}' is not a whole number from 1.`);
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (/^\d+(\.\d+)?$/.test(value) && n > 0) return n;
  throw new InvalidArgumentError(`'${value}' is not a number of seconds above 0.`);
}
