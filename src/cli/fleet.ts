import { readFile } from 'node:fs/promises';
import type { ApiClient } from './api-client.js';
import { readDeviceRows } from './device-csv.js';

/**
 * Registers every device of a factory CSV through the API, 32 requests at a time: what the
 * demo and the benchmarks do before they start the simulator.
 *
 * @example
 *   await registerFleet(api, 'factory/devices.csv');
 */
export async function registerFleet(api: ApiClient, csvFile: string): Promise<void> {
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
