import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { HomeportError } from '../errors.js';
import { isApiError, type ApiClient, type ApiError } from './api-client.js';
import { readDeviceRows, type DeviceRow, type RowProblem } from './device-csv.js';
import { clientFor, resolveProfile } from './profiles.js';

/** Devices registered at the same time; enough to hide latency, few enough to be polite. */
const CONCURRENCY = 8;

/** From this many rows on, progress is shown on stderr. */
const PROGRESS_FROM_ROWS = 200;

interface ImportFlags {
  server?: string;
  company?: number;
  dryRun?: boolean;
  json?: boolean;
}

type Result = 'created' | 'exists' | 'valid' | 'error';

interface Summary {
  created: number;
  existed: number;
  valid: number;
  failed: number;
  dry_run: boolean;
  stopped?: string;
}

interface Outcome {
  line: number;
  mac: string | null;
  result: Result;
  error?: string;
  code?: string;
}

const help = readFileSync(new URL('../../src/cli/help/devices.txt', import.meta.url), 'utf8');

export function registerDevicesCommand(program: Command): void {
  const devices = program
    .command('devices')
    .description('Work with the devices registered on a deployment.')
    .addHelpText('after', help);
  devices
    .command('import')
    .description('Register devices from a CSV file (Alias,Serial No,Order Code,MAC,IMEI,Type).')
    .argument('<file>', 'CSV file')
    .option('--server <name>', 'server profile (default: the one logged in to last)')
    .option('--company <id>', 'register the devices in this company', parseCompanyId)
    .option('--dry-run', 'check the file only; contact no server')
    .option('--json', 'one JSON object per row, then a summary object')
    .addHelpText('after', help)
    .action((file: string, flags: ImportFlags) => runImport(file, flags));
}

/** Import: read and check the file, register each valid row, report each row and a summary. */
async function runImport(file: string, flags: ImportFlags): Promise<void> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new HomeportError('CSV_INVALID', `Cannot read ${file}: ${err.message}.`);
  });
  const { rows, ignoredColumns } = readDeviceRows(text);
  for (const column of ignoredColumns) {
    console.error(`warning: ignoring column '${column}' of ${file}: Homeport does not know it.`);
  }

  const report = reporter(rows.length, flags);
  if (flags.dryRun) {
    rows.forEach((row, i) => report.row(i, checked(row)));
    return report.finish();
  }

  const profile = await resolveProfile(flags.server);
  const api = await clientFor(profile);
  try {
    await registerAll(api, rows, flags.company, report.row);
  } catch (err) {
    // The rows reported are done; running the same import again does the rest.
    report.finish((err as Error).message);
    throw err;
  } finally {
    api.close();
  }
  report.finish();
}

function checked(row: DeviceRow | RowProblem): Outcome {
  if ('error' in row)
    return { line: row.line, mac: row.mac ?? null, result: 'error', error: row.error };
  return { line: row.line, mac: row.mac_address, result: 'valid' };
}

/**
 * Registers the rows, CONCURRENCY at a time. A failure that would repeat on every row (the
 * server is unreachable, the login or the permission is refused) stops the import.
 */
async function registerAll(
  api: ApiClient,
  rows: (DeviceRow | RowProblem)[],
  companyId: number | undefined,
  done: (index: number, outcome: Outcome) => void,
): Promise<void> {
  let next = 0;
  let stop: { error: unknown } | undefined;
  const worker = async () => {
    while (!stop && next < rows.length) {
      const index = next++;
      const row = rows[index];
      if ('error' in row) {
        done(index, checked(row));
        continue;
      }
      try {
        done(index, await register(api, row, companyId));
      } catch (err) {
        stop ??= { error: err };
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (stop) throw stop.error;
}

async function register(api: ApiClient, row: DeviceRow, companyId: number | undefined) {
  const { line, ...body } = row;
  const outcome = { line, mac: row.mac_address };
  try {
    await api.post('/api/identity/devices', {
      ...body,
      ...(companyId !== undefined && { company_id: companyId }),
    });
    return { ...outcome, result: 'created' } as const;
  } catch (err) {
    if (!isApiError(err)) throw err;
    if (err.code === 'DEVICE_EXISTS') return { ...outcome, result: 'exists' } as const;
    if (stopsEveryRow(err)) throw err;
    return { ...outcome, result: 'error', error: err.reason, code: err.code } as const;
  }
}

function stopsEveryRow({ status, code }: ApiError): boolean {
  const everyRow = ['COMPANY_NOT_FOUND', 'SERVER_ANSWER_INVALID', 'ROUTE_NOT_FOUND'];
  return status === 0 || status === 401 || status === 403 || everyRow.includes(code);
}

/**
 * Prints outcomes in file order as they complete, progress on stderr for big files, and the
 * summary. Sets the exit status to 1 if a row failed.
 */
function reporter(total: number, flags: ImportFlags) {
  const outcomes: (Outcome | undefined)[] = [];
  const progress = progressLine(total);
  let printed = 0;
  const print = (outcome: Outcome) => {
    console.log(flags.json ? JSON.stringify({ type: 'row', ...outcome }) : formatOutcome(outcome));
  };

  return {
    row: (index: number, outcome: Outcome) => {
      outcomes[index] = outcome;
      for (let o = outcomes[printed]; o; o = outcomes[printed]) {
        print(o);
        printed++;
      }
      progress();
    },
    /** Prints what is left (after a stop, rows that finished out of order) and the summary. */
    finish: (stopped?: string) => {
      outcomes.slice(printed).forEach((o) => o && print(o));
      const count = (result: Result) => outcomes.filter((o) => o?.result === result).length;
      const summary: Summary = {
        created: count('created'),
        existed: count('exists'),
        valid: count('valid'),
        failed: count('error'),
        dry_run: flags.dryRun === true,
        ...(stopped !== undefined && { stopped }),
      };
      if (summary.failed > 0 || stopped !== undefined) process.exitCode = 1;
      if (flags.json) console.log(JSON.stringify({ type: 'summary', ...summary }));
      else console.log(formatSummary(summary));
    },
  };
}

function formatOutcome({ line, mac, result, error }: Outcome): string {
  const what = result === 'error' ? `error: ${error}` : result;
  return mac === null ? `line ${line}: ${what}` : `line ${line}: ${mac}: ${what}`;
}

function formatSummary(s: Summary): string {
  if (s.dry_run) return `${s.valid} valid, ${s.failed} failed (dry run: nothing was sent)`;
  const counts = `${s.created} created, ${s.existed} existed, ${s.failed} failed`;
  return s.stopped === undefined ? counts : `${counts}; stopped before the end of the file`;
}

/** Progress on stderr for big files: a line at every tenth of the rows. */
function progressLine(total: number) {
  let done = 0;
  let shown = 0;
  return () => {
    done++;
    const percent = Math.floor((done * 100) / total);
    if (total < PROGRESS_FROM_ROWS || percent < shown + 10) return;
    shown = percent;
    console.error(`${done}/${total} rows (${percent} %)`);
  };
}

function parseCompanyId(value: string): number {
  const id = Number(value);
  if (/^\d+$/.test(value) && id >= 1 && Number.isSafeInteger(id)) return id;
  throw new InvalidArgumentError(`'${value}' is not a company id; give a whole number from 1.`);
}
