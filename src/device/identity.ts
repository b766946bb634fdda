import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalMac } from '../common/mac.js';
import { HomeportError } from '../errors.js';
import { deviceFolderName } from './numbering.js';

/** What the production line knows about one device, as written to `identity.json`. */
export interface DeviceIdentity {
  mac: string;
  serial: string;
  imei: string;
  alias: string;
  orderCode: string;
  type: string;
}

/** A key and its certificate, PEM, and the certificate parsed for checks. */
export interface Credential {
  keyPem: string;
  certPem: string;
  cert: X509Certificate;
}

/** A device folder as the factory leaves it: identity, factory credential, manufacturer. */
export interface FactoryDevice {
  folder: string;
  identity: DeviceIdentity;
  factory: Credential;
  /** The O of the factory certificate's subject. */
  manufacturer: string;
}

/** File names in a factory output folder and in each device folder. */
export const FACTORY_FILES = {
  caCert: 'manufacturer-ca.pem',
  caKey: 'manufacturer-ca.key',
  csv: 'devices.csv',
  identity: 'identity.json',
  key: 'factory.key',
  cert: 'factory.pem',
} as const;

/** The header of `devices.csv`, the bulk-import format of device identities. */
export const CSV_HEADER = ['Alias', 'Serial No', 'Order Code', 'MAC', 'IMEI', 'Type'] as const;

/**
 * Reads a device folder made by `homeport factory`: `identity.json`, `factory.key` and
 * `factory.pem`. Refuses with DEVICE_STATE_INVALID a folder that lacks one of them or whose
 * certificate does not name the device's MAC.
 *
 * @example
 *   const device = await readFactoryDevice('factory/02-48-50-00-00-01');
 *   device.identity.mac; // '02:48:50:00:00:01'
 */
export async function readFactoryDevice(folder: string): Promise<FactoryDevice> {
  const identity = parseIdentity(await readText(folder, FACTORY_FILES.identity), folder);
  const keyPem = await readText(folder, FACTORY_FILES.key);
  const certPem = await readText(folder, FACTORY_FILES.cert);
  const cert = parseCertificate(certPem, join(folder, FACTORY_FILES.cert));

  const cn = subjectField(cert, 'CN');
  if (cn !== identity.mac) {
    throw invalid(folder, `factory.pem names CN ${JSON.stringify(cn)}, not ${identity.mac}`);
  }
  return {
    folder,
    identity,
    factory: { keyPem, certPem, cert },
    manufacturer: subjectField(cert, 'O') ?? '',
  };
}

/**
 * The device folders of a factory output, in the order of `devices.csv`.
 *
 * @example
 *   const folders = await listFactoryDevices('factory'); // ['factory/02-48-50-00-00-01', ...]
 */
export async function listFactoryDevices(factoryDir: string): Promise<string[]> {
  const csv = await readText(factoryDir, FACTORY_FILES.csv);
  const [header, ...rows] = csv.split(/\r?\n/).filter((line) => line.trim() !== '');
  const columns = (header ?? '').split(',');
  const macColumn = columns.indexOf('MAC');
  if (macColumn < 0) throw invalid(factoryDir, `devices.csv has no MAC column`);

  return rows.map((row, index) => {
    const mac = canonicalMac(row.split(',')[macColumn] ?? '');
    if (!mac) throw invalid(factoryDir, `devices.csv row ${index + 2} has no valid MAC`);
    return join(factoryDir, deviceFolderName(mac));
  });
}

/**
 * One field of a certificate subject (`CN`, `O`, `serialNumber`), as Node prints it.
 *
 * @example
 *   subjectField(cert, 'CN'); // '02:48:50:00:00:01'
 */
export function subjectField(cert: X509Certificate, field: string): string | undefined {
  const prefix = `${field}=`;
  return cert.subject
    .split('\n')
    .find((line) => line.startsWith(prefix))
    ?.slice(prefix.length);
}

/**
 * Parses a PEM certificate (the first of a bundle) with Node, naming the file on failure.
 *
 * @example
 *   const cert = parseCertificate(pem, 'operational.pem');
 */
export function parseCertificate(pem: string, source: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new HomeportError('DEVICE_STATE_INVALID', `Cannot read ${source}: not a certificate.`, {
      cause: err,
    });
  }
}

async function readText(folder: string, name: string): Promise<string> {
  try {
    return await readFile(join(folder, name), 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is missing' : String(err);
    throw new HomeportError(
      'DEVICE_STATE_INVALID',
      `Cannot read ${join(folder, name)}: ${reason}; ` +
        `is ${folder} a folder made by homeport factory?`,
      { cause: err },
    );
  }
}

function parseIdentity(text: string, folder: string): DeviceIdentity {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(folder, `identity.json is not JSON (${String(err)})`);
  }

  const record = value as Record<string, unknown>;
  const fields = ['mac', 'serial', 'imei', 'alias', 'orderCode', 'type'] as const;
  const missing = fields.filter((name) => typeof record[name] !== 'string');
  if (missing.length > 0) throw invalid(folder, `identity.json lacks ${missing.join(', ')}`);

  const mac = canonicalMac(record.mac as string);
  if (!mac) throw invalid(folder, `identity.json has MAC ${JSON.stringify(record.mac)}`);
  const field = (name: (typeof fields)[number]) => record[name] as string;
  return {
    mac,
    serial: field('serial'),
    imei: field('imei'),
    alias: field('alias'),
    orderCode: field('orderCode'),
    type: field('type'),
  };
}

function invalid(folder: string, reason: string): HomeportError {
  return new HomeportError(
    'DEVICE_STATE_INVALID',
    `Cannot use device folder ${folder}: ${reason}.`,
  );
}
