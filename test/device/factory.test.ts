import { X509Certificate } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFactoryDevice, listFactoryDevices } from '../../src/device/identity.js';
import { runFactory } from '../../src/device/factory.js';
import {
  imeiFor,
  isValidImei,
  luhnCheckDigit,
  macAddress,
  parseMacPrefix,
} from '../../src/device/numbering.js';
import { isHomeportError } from '../../src/errors.js';
import { x509 } from '../../src/pki/index.js';
import { openssl, tempDir } from './helpers.js';

describe('homeport factory (production line)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => cleanup());

  it('refuses to write into a folder that is not empty', async () => {
    await writeFile(join(dir, 'something.txt'), 'keep me');
    const error = await runFactory({ outDir: dir, count: 2 }).catch((err: unknown) => err);
    expect(isHomeportError(error, 'FACTORY_DIR_NOT_EMPTY')).toBe(true);
    expect((error as Error).message).toContain('--force');
    expect(await readdir(dir)).toEqual(['something.txt']);
  });

  it('writes over a non-empty folder with force, replacing files of the same names', async () => {
    await runFactory({ outDir: dir, count: 2 });
    const firstKey = await readFile(join(dir, '02-48-50-00-00-01', 'factory.key'), 'utf8');
    await runFactory({ outDir: dir, count: 2, force: true });
    const secondKey = await readFile(join(dir, '02-48-50-00-00-01', 'factory.key'), 'utf8');
    expect(secondKey).not.toBe(firstKey);
    expect((await stat(join(dir, '02-48-50-00-00-01', 'factory.key'))).mode & 0o777).toBe(0o600);
  });

  it('refuses a multicast MAC prefix, a bad count and a counter range past the prefix', async () => {
    expect(() => parseMacPrefix('01:00:5e')).toThrow(/multicast/);
    expect(() => parseMacPrefix('02:48:5')).toThrow(/1 to 5 octets/);
    await expect(runFactory({ outDir: dir, count: 0 })).rejects.toThrow(RangeError);
    await expect(
      runFactory({ outDir: dir, count: 2, macPrefix: '02:48:50:00:00', firstCounter: 255 }),
    ).rejects.toThrow(/room for counters 0 to 255/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes devices.csv with the import header and one row per device, MACs unique', async () => {
    const summary = await runFactory({ outDir: dir, count: 300, manufacturer: 'Acme Routers' });
    const csv = await readFile(join(dir, 'devices.csv'), 'utf8');
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('Alias,Serial No,Order Code,MAC,IMEI,Type');
    expect(lines.at(-1)).toBe('');
    const rows = lines.slice(1, -1).map((line) => line.split(','));
    expect(rows).toHaveLength(300);

    const macs = rows.map((row) => row[3]);
    expect(new Set(macs).size).toBe(300);
    expect(macs[0]).toBe('02:48:50:00:00:01');
    expect(macs[299]).toBe('02:48:50:00:01:2C');
    expect(new Set(rows.map((row) => row[1])).size).toBe(300);
    for (const [alias, serial, orderCode, mac, imei, type] of rows) {
      expect(alias).toMatch(/^gw-\d{6}$/);
      expect(serial).toMatch(/^HP\d{15}$/);
      expect(orderCode).toBe('HP-GW1-EU');
      expect(mac).toMatch(/^02:48:50(:[0-9A-F]{2}){3}$/);
      expect(isValidImei(imei)).toBe(true);
      expect(type).toBe('HP-GW1');
    }
    expect(summary).toMatchObject({ count: 300, firstMac: macs[0], lastMac: macs[299] });
    expect(await listFactoryDevices(dir)).toEqual(
      macs.map((mac) => join(dir, mac.replace(/:/g, '-'))),
    );
  });

  it('IMEIs are 15 digits with a valid Luhn check digit', () => {
    expect(luhnCheckDigit('7992739871')).toBe(3);
    // A published example IMEI (3GPP TS 23.003 Annex B style check).
    expect(isValidImei('490154203237518')).toBe(true);
    expect(isValidImei('490154203237519')).toBe(false);
    expect(isValidImei('49015420323751')).toBe(false);
    const prefix = parseMacPrefix('02:48:50');
    for (let i = 0; i < 1000; i++) expect(isValidImei(imeiFor(macAddress(prefix, i)))).toBe(true);
  });

  it('each device folder holds identity.json, factory.key (0600) and factory.pem', async () => {
    await runFactory({ outDir: dir, count: 3, macPrefix: '0a:00:00', manufacturer: 'Acme' });
    const folder = join(dir, '0A-00-00-00-00-02');
    const identity = JSON.parse(await readFile(join(folder, 'identity.json'), 'utf8'));
    expect(Object.keys(identity)).toEqual(['mac', 'serial', 'imei', 'alias', 'orderCode', 'type']);
    expect(identity.mac).toBe('0A:00:00:00:00:02');

    expect((await stat(join(folder, 'factory.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'manufacturer-ca.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(folder, 'factory.pem'))).mode & 0o777).toBe(0o644);

    const device = await readFactoryDevice(folder);
    expect(device.identity).toEqual(identity);
    expect(device.manufacturer).toBe('Acme');
    expect(device.factory.cert.checkPrivateKey(await keyObject(join(folder, 'factory.key')))).toBe(
      true,
    );
  });

  it('factory certificates chain to the manufacturer CA (openssl verify) with the right subject', async () => {
    await runFactory({ outDir: dir, count: 2, manufacturer: 'Acme Routers' });
    const caPath = join(dir, 'manufacturer-ca.pem');
    const certPath = join(dir, '02-48-50-00-00-02', 'factory.pem');

    const verified = await openssl([
      'verify',
      '-CAfile',
      caPath,
      '-purpose',
      'sslclient',
      certPath,
    ]);
    expect(verified.stdout.trim()).toBe(`${certPath}: OK`);

    const subject = await openssl([
      'x509',
      '-in',
      certPath,
      '-noout',
      '-subject',
      '-nameopt',
      'RFC2253',
    ]);
    // RFC 2253 prints the RDNs last first: O, serialNumber, CN is the DER order CN, serialNumber, O.
    expect(subject.stdout.trim()).toMatch(
      /^subject=O=Acme Routers,serialNumber=HP\d{15},CN=02:48:50:00:00:02$/,
    );

    const cert = new x509.X509Certificate(await readFile(certPath, 'utf8'));
    const ca = new x509.X509Certificate(await readFile(caPath, 'utf8'));
    expect(cert.subjectName.toJSON().map((rdn) => Object.keys(rdn)[0])).toEqual([
      'CN',
      '2.5.4.5',
      'O',
    ]);
    expect(cert.issuer).toBe(ca.subject);
    expect(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    expect(eku?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    expect(aki).toBe(ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);

    const years = (cert.notAfter.getTime() - cert.notBefore.getTime()) / (365.25 * 86_400_000);
    expect(years).toBeGreaterThan(19.99);
    expect(years).toBeLessThan(20.01);
    expect(new X509Certificate(await readFile(caPath)).ca).toBe(true);
  });

  it('a certificate from another manufacturer does not verify against this CA', async () => {
    const other = join(dir, 'other');
    await mkdir(other);
    await runFactory({ outDir: join(dir, 'mine'), count: 1 });
    await runFactory({ outDir: other, count: 1 });
    const failed = await openssl([
      'verify',
      '-CAfile',
      join(dir, 'mine', 'manufacturer-ca.pem'),
      join(other, '02-48-50-00-00-01', 'factory.pem'),
    ]).catch((err: { stdout?: string; stderr?: string }) => err);
    expect(`${failed.stdout ?? ''}${failed.stderr ?? ''}`).toMatch(/unable to get local issuer/);
  });

  it('signs 1,000 devices in a few seconds', async () => {
    const progress: number[] = [];
    const summary = await runFactory({
      outDir: dir,
      count: 1000,
      onProgress: (done) => progress.push(done),
    });
    expect(summary.count).toBe(1000);
    expect(progress.at(-1)).toBe(1000);
    // About 1 s on an idle 2-core machine; the bound leaves room for a loaded CI host.
    expect(summary.elapsedMs).toBeLessThan(10_000);
    expect((await readdir(dir)).filter((name) => name.startsWith('02-48-50'))).toHaveLength(1000);
  });
});

async function keyObject(path: string) {
  const { createPrivateKey } = await import('node:crypto');
  return createPrivateKey(await readFile(path, 'utf8'));
}
