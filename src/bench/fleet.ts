import { readFile } from 'node:fs/promises';
import type { ApiClient } from '../cli/api-client.js';
import { readDeviceRows } from '../cli/device-csv.js';

/** Registers every device of a factory CSV, 32 requests at a time. */
export async function registerFleet(api: ApiClient, csvFile: string): Promise<void> {
  step('registering the devices');
  const { rows } = readDeviceRows(await readFile(csvFile, 'utf8'));
  for (let i = 0; i < rows.length; i += 32) {
    await Promise.all(
      rows.slice(i, i + 32).map((row) => {
        if ('error' in row) throw new Error(`${csvFile} line ${row.line}: ${row.error}`);
        const { line, ...body } = row;
        return api.post('/api/identity/devices', body);
      }),
    );
  }
}

/** The MACs of a factory CSV, in order. */
export async function fleetMacs(csvFile: string): Promise<string[]> {
  const { rows } = readDeviceRows(await readFile(csvFile, 'utf8'));
  return rows.map((row) => ('error' in row ? '' : row.mac_address));
}

/** Progress on stderr: a benchmark takes minutes. */
export function step(what: string): void {
  console.error(`bench: ${what}`);
}
