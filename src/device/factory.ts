import { mkdir, open, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { HomeportError } from '../errors.js';
import {
  createRootCa,
  exportPrivateKeyPem,
  fingerprint256,
  toPemBundle,
  writeFileAtomic,
  writePrivateKeyFile,
  type Issuer,
} from '../pki/index.js';
import { FactoryCertificateSigner } from './factory-cert.js';
import { CSV_HEADER, FACTORY_FILES, type DeviceIdentity } from './identity.js';
import {
  DEFAULT_MAC_PREFIX,
  deviceFolderName,
  imeiFor,
  macAddress,
  parseMacPrefix,
  serialNumberFor,
} from './numbering.js';

/** What the production line makes. */
export interface FactoryOptions {
  /** The output folder; it must be empty or missing unless `force`. */
  outDir: string;
  /** How many devices, 1 to 1,000,000. */
  count: number;
  /** The O of every certificate, and the name of the manufacturer CA. Default `Homeport`. */
  manufacturer?: string;
  /** The MAC prefix, 1 to 5 octets, unicast. Default `02:48:50` (locally administered). */
  macPrefix?: string;
  /** The counter of the first device after the prefix. Default 1. */
  firstCounter?: number;
  /** The Type column and the device's model. Default `HP-GW1`. */
  deviceType?: string;
  /** The Order Code column. Default `HP-GW1-EU`. */
  orderCode?: string;
  /** Write into a folder that is not empty, replacing files of the same names. */
  force?: boolean;
  /** Called after each batch of devices, with how many are done. */
  onProgress?: (done: number, total: number) => void;
  now?: Date;
}

/** What the production line made, and where. */
export interface FactorySummary {
  outDir: string;
  count: number;
  manufacturer: string;
  manufacturerCa: { cert: string; key: string; fingerprint: string };
  csv: string;
  firstMac: string;
  lastMac: string;
  elapsedMs: number;
}

export const MAX_FACTORY_COUNT = 1_000_000;
// Factory certificates last the device's life; the CA outlives them.
const DEVICE_VALIDITY_DAYS = 7305; // 20 years
const CA_VALIDITY_DAYS = 9132; // 25 years
// Devices whose credentials are made before their files are written, to overlap the I/O.
const BATCH = 64;

/**
 * Plays the production line: makes a manufacturer root CA (ECDSA P-256, self-signed) and, for
 * each device, an identity, a key and a factory certificate signed by that CA, plus the
 * `devices.csv` an operator imports into a deployment. 1,000 devices take about a second.
 *
 * Layout: `manufacturer-ca.pem`, `manufacturer-ca.key` (0600), `devices.csv`, and per device
 * `<MAC with dashes>/identity.json`, `factory.key` (0600), `factory.pem`.
 *
 * @example
 *   const summary = await runFactory({ outDir: 'factory', count: 100 });
 *   summary.manufacturerCa.cert; // 'factory/manufacturer-ca.pem', for the BS manufacturer list
 */
export async function runFactory(options: FactoryOptions): Promise<FactorySummary> {
  const started = Date.now();
  const plan = checkOptions(options);
  await prepareOutputFolder(plan.outDir, options.force === true);

  const ca = await makeManufacturerCa(plan, options.now);
  const identities = await makeDevices(plan, ca, options);
  await writeDevicesCsv(plan.outDir, identities);

  return {
    outDir: plan.outDir,
    count: identities.length,
    manufacturer: plan.manufacturer,
    manufacturerCa: {
      cert: join(plan.outDir, FACTORY_FILES.caCert),
      key: join(plan.outDir, FACTORY_FILES.caKey),
      fingerprint: fingerprint256(ca.cert),
    },
    csv: join(plan.outDir, FACTORY_FILES.csv),
    firstMac: identities[0].mac,
    lastMac: identities[identities.length - 1].mac,
    elapsedMs: Date.now() - started,
  };
}

interface Plan {
  outDir: string;
  count: number;
  manufacturer: string;
  macs: string[];
  deviceType: string;
  orderCode: string;
}

function checkOptions(options: FactoryOptions): Plan {
  const { count } = options;
  if (!Number.isInteger(count) || count < 1 || count > MAX_FACTORY_COUNT) {
    throw new RangeError(
      `Cannot make ${count} devices: count must be a whole number from 1 to ${MAX_FACTORY_COUNT}.`,
    );
  }

  const manufacturer = options.manufacturer ?? 'Homeport';
  if (manufacturer.trim() === '' || manufacturer.length > 40) {
    throw new RangeError(
      `Cannot use manufacturer ${JSON.stringify(manufacturer)}: give 1 to 40 characters.`,
    );
  }

  const prefix = parseMacPrefix(options.macPrefix ?? DEFAULT_MAC_PREFIX);
  const first = options.firstCounter ?? 1;
  if (!Number.isInteger(first) || first < 0 || first + count > prefix.capacity) {
    throw new RangeError(
      `Cannot number ${count} devices from ${first}: after this prefix there is room for ` +
        `counters 0 to ${prefix.capacity - 1}.`,
    );
  }

  return {
    outDir: resolve(options.outDir),
    count,
    manufacturer,
    macs: Array.from({ length: count }, (_, i) => macAddress(prefix, first + i)),
    deviceType: options.deviceType ?? 'HP-GW1',
    orderCode: options.orderCode ?? 'HP-GW1-EU',
  };
}

async function prepareOutputFolder(outDir: string, force: boolean): Promise<void> {
  const entries = await readdir(outDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  if (entries.length > 0 && !force) {
    throw new HomeportError(
      'FACTORY_DIR_NOT_EMPTY',
      `Cannot make devices in ${outDir}: the folder holds ${entries.length} entries; ` +
        'choose an empty folder, or pass --force to write over it.',
    );
  }
  await mkdir(outDir, { recursive: true });
}

async function makeManufacturerCa(plan: Plan, now: Date | undefined): Promise<Issuer> {
  const ca = await createRootCa({
    commonName: `${plan.manufacturer} Manufacturer CA`,
    organization: plan.manufacturer,
    validityDays: CA_VALIDITY_DAYS,
    ...(now !== undefined && { now }),
  });
  await writePrivateKeyFile(
    join(plan.outDir, FACTORY_FILES.caKey),
    await exportPrivateKeyPem(ca.key),
  );
  await writeFileAtomic(join(plan.outDir, FACTORY_FILES.caCert), toPemBundle([ca.cert]), 0o644);
  return ca;
}

async function makeDevices(
  plan: Plan,
  ca: Issuer,
  options: FactoryOptions,
): Promise<DeviceIdentity[]> {
  const signer = new FactoryCertificateSigner(ca, {
    validityDays: DEVICE_VALIDITY_DAYS,
    ...(options.now !== undefined && { now: options.now }),
  });
  const flag = options.force === true ? 'w' : 'wx';
  const identities: DeviceIdentity[] = [];

  for (let start = 0; start < plan.count; start += BATCH) {
    const batch = plan.macs.slice(start, start + BATCH).map((mac, i) => {
      const identity = identityFor(plan, mac, start + i);
      const credential = signer.issue({
        mac,
        serial: identity.serial,
        manufacturer: plan.manufacturer,
      });
      return { identity, ...credential };
    });
    await Promise.all(batch.map((device) => writeDeviceFolder(plan.outDir, device, flag)));
    identities.push(...batch.map((device) => device.identity));
    options.onProgress?.(identities.length, plan.count);
  }
  return identities;
}

function identityFor(plan: Plan, mac: string, index: number): DeviceIdentity {
  return {
    mac,
    serial: serialNumberFor(mac),
    imei: imeiFor(mac),
    alias: `gw-${String(index + 1).padStart(6, '0')}`,
    orderCode: plan.orderCode,
    type: plan.deviceType,
  };
}

async function writeDeviceFolder(
  outDir: string,
  device: { identity: DeviceIdentity; keyPem: string; certPem: string },
  flag: 'w' | 'wx',
): Promise<void> {
  // The factory output is regenerated rather than repaired, so these writes skip fsync: with
  // an fsync each, 1,000 devices would take 20 s instead of 1 s.
  const folder = join(outDir, deviceFolderName(device.identity.mac));
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await writeNew(
    join(folder, FACTORY_FILES.identity),
    `${JSON.stringify(device.identity, null, 2)}\n`,
    0o644,
    flag,
  );
  await writeNew(join(folder, FACTORY_FILES.key), device.keyPem, 0o600, flag);
  await writeNew(join(folder, FACTORY_FILES.cert), device.certPem, 0o644, flag);
}

async function writeNew(path: string, data: string, mode: number, flag: 'w' | 'wx'): Promise<void> {
  const handle = await open(path, flag, mode);
  try {
    // open() applies the mode only to a new file, narrowed by the umask; set it exactly.
    await handle.chmod(mode);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

async function writeDevicesCsv(outDir: string, identities: DeviceIdentity[]): Promise<void> {
  const rows = identities.map((d) => [d.alias, d.serial, d.orderCode, d.mac, d.imei, d.type]);
  // RFC 4180 §2: records end with CRLF; fields with a comma, quote or line break are quoted.
  const text = [CSV_HEADER, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n');
  await writeFileAtomic(join(outDir, FACTORY_FILES.csv), `${text}\r\n`, 0o644);
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
