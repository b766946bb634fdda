import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import { homeport, login } from './run.js';

let d: TestDeployment;
let scratch: string;
let config: string;
let token: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'homeport-cli-devices-'));
  config = join(scratch, 'config.json');
  d = await startTestDeployment({ host: '127.0.0.212', name: 'Import Target' });
  const url = d.deployment.info.services.api.url;
  const r = await login(config, 'target', url, ADMIN_PASSWORD, [
    '--ca',
    join(d.dataDir, 'pki', 'server-root.pem'),
  ]);
  expect(r.code).toBe(0);
  token = await d.login('admin', ADMIN_PASSWORD);
});
afterAll(async () => {
  await d.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function csvFile(name: string, text: string): Promise<string> {
  const file = join(scratch, name);
  await writeFile(file, text);
  return file;
}

const hex = (n: number) => (n & 0xff).toString(16).padStart(2, '0').toUpperCase();

const device = async (mac: string) =>
  (await d.api('GET', `/api/management/devices/${mac}`, { token })).body.data;

describe('homeport devices import', () => {
  const sheet = [
    'Alias,Serial No,Order Code,MAC,IMEI,Type',
    'Pump 1,SN-0001,BB-1,02:00:00:00:20:01,356938035643809,ICR-3241',
    '"Pump 2, north",SN-0002,,02-00-00-00-20-02,,',
    '',
    'Pump 3,SN-0003,,zz:00:00:00:20:03,,',
    'Pump 4,,,02:00:00:00:20:04,,',
    ',SN-0005,,0200.0000.2005,,ICR-2031',
  ].join('\n');

  it('creates the good rows and reports bad ones by line, exiting 1', async () => {
    const file = await csvFile('sheet.csv', sheet);
    const r = await homeport(config, ['devices', 'import', file]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      'line 2: 02:00:00:00:20:01: created',
      'line 3: 02:00:00:00:20:02: created',
      "line 5: error: MAC 'zz:00:00:00:20:03' is not a MAC address; write it as 00:0A:14:81:22:33",
      'line 6: 02:00:00:00:20:04: error: Serial No is empty',
      'line 7: 02:00:00:00:20:05: created',
      '3 created, 0 existed, 2 failed',
    ]);

    expect(await device('02:00:00:00:20:01')).toMatchObject({
      alias: 'Pump 1',
      serial_number: 'SN-0001',
      order_code: 'BB-1',
      imei: '356938035643809',
      device_type: { name: 'ICR-3241' },
    });
    expect((await device('02:00:00:00:20:02')).alias).toBe('Pump 2, north');
    expect((await device('02:00:00:00:20:05')).alias).toBe('02:00:00:00:20:05');
  });

  it('reports the devices of a second import as existing', async () => {
    const file = await csvFile('again.csv', sheet);
    const r = await homeport(config, ['devices', 'import', file, '--server', 'target']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('line 2: 02:00:00:00:20:01: exists');
    expect(r.stdout).toContain('line 7: 02:00:00:00:20:05: exists');
    expect(r.stdout).toContain('0 created, 3 existed, 2 failed');
  });

  it('reads a ;-separated sheet with a BOM, CRLF, quotes and other header spellings', async () => {
    const file = await csvFile(
      'semicolons.csv',
      '\uFEFFALIAS;serial no;MAC Address;imei\r\n' +
        '"Gate; east";SN-0101;02:00:00:00:21:01;\r\n' +
        '\r\n' +
        'Gate west;"SN-""0102""";020000002102;356938035643817\r\n',
    );
    const r = await homeport(config, ['devices', 'import', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'line 2: 02:00:00:00:21:01: created',
      'line 4: 02:00:00:00:21:02: created',
      '2 created, 0 existed, 0 failed',
    ]);
    expect((await device('02:00:00:00:21:01')).alias).toBe('Gate; east');
    expect((await device('02:00:00:00:21:02')).serial_number).toBe('SN-"0102"');
  });

  it('prints one JSON object per row and a summary with --json', async () => {
    const file = await csvFile(
      'json.csv',
      'MAC,Serial No,IMEI\n02:00:00:00:22:01,SN-0201,\n02:00:00:00:20:01,SN-0001,\n' +
        '02:00:00:00:22:03,SN-0203,12ab\n02:00:00:00:22:01,SN-0204,\n',
    );
    const r = await homeport(config, ['devices', 'import', file, '--json']);
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { type: 'row', line: 2, mac: '02:00:00:00:22:01', result: 'created' },
      { type: 'row', line: 3, mac: '02:00:00:00:20:01', result: 'exists' },
      {
        type: 'row',
        line: 4,
        mac: '02:00:00:00:22:03',
        result: 'error',
        error: "IMEI '12ab' is not 14 to 16 digits",
      },
      {
        type: 'row',
        line: 5,
        mac: '02:00:00:00:22:01',
        result: 'error',
        error: 'the same MAC is on line 2',
      },
      { type: 'summary', created: 1, existed: 1, valid: 0, failed: 2, dry_run: false },
    ]);
  });

  it('reports what the server refuses on a row and carries on with the others', async () => {
    const file = await csvFile(
      'long.csv',
      `Serial No,MAC\n${'S'.repeat(65)},02:00:00:00:23:01\nSN-0302,02:00:00:00:23:02\n`,
    );
    const r = await homeport(config, ['devices', 'import', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/line 2: 02:00:00:00:23:01: error: .*serial_number/);
    expect(r.stdout).toContain('line 3: 02:00:00:00:23:02: created');
  });

  it('stops at once when the company does not exist, and says why', async () => {
    const file = await csvFile('company.csv', 'Serial No,MAC\nSN-0401,02:00:00:00:24:01\n');
    const r = await homeport(config, ['devices', 'import', file, '--company', '999']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Company 999 (company_id) does not exist');
    expect(r.stdout).toContain('stopped before the end of the file');
  });

  it('imports a big file, reporting rows in file order, with progress on stderr', async () => {
    const macs = Array.from({ length: 250 }, (_, i) => `02:00:00:01:${hex(i >> 8)}:${hex(i)}`);
    const file = await csvFile(
      'big.csv',
      ['Serial No,MAC', ...macs.map((mac, i) => `BIG-${i},${mac}`)].join('\r\n'),
    );
    const r = await homeport(config, ['devices', 'import', file]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, -1)).toEqual(macs.map((mac, i) => `line ${i + 2}: ${mac}: created`));
    expect(lines.at(-1)).toBe('250 created, 0 existed, 0 failed');
    expect(r.stderr.trim().split('\n')).toEqual(
      [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((p) => `${(p * 250) / 100}/250 rows (${p} %)`),
    );
  });

  it('checks the file without contacting a server with --dry-run', async () => {
    const file = await csvFile('dry.csv', sheet.replaceAll('02:00:00:00:20', '02:00:00:00:25'));
    const r = await homeport(join(scratch, 'no-profiles.json'), [
      'devices',
      'import',
      file,
      '--dry-run',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('line 2: 02:00:00:00:25:01: valid');
    expect(r.stdout).toContain('3 valid, 2 failed (dry run: nothing was sent)');
    expect(
      (await d.api('GET', '/api/management/devices/02:00:00:00:25:01', { token })).status,
    ).toBe(404);
  });

  it('refuses a sheet without a MAC column, and an unknown profile, naming what to do', async () => {
    const file = await csvFile('nomac.csv', 'Alias,Serial No\nA,S\n');
    const r = await homeport(config, ['devices', 'import', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The CSV header has no MAC column');

    const good = await csvFile('good.csv', 'Serial No,MAC\nS,02:00:00:00:26:01\n');
    const unknown = await homeport(config, ['devices', 'import', good, '--server', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("There is no server profile 'nope'; known profiles: target.");
  });
});
