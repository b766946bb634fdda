import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD } from '../helpers/deployment.js';
import { homeport, login } from '../cli/run.js';
import {
  definitions,
  device,
  register,
  startDevice,
  startFleet,
  trustFingerprints,
  type Fleet,
  type Site,
} from './helpers.js';

let fleet: Fleet;
let one: Site;
let two: Site;
let three: Site;
let config: string;

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, any>);

async function snapshot(mac: string) {
  return Promise.all(
    fleet.sites.map(async (site) => ({
      trust: await trustFingerprints(site),
      definitions: await definitions(site),
      device: await device(site, mac),
    })),
  );
}

beforeAll(async () => {
  fleet = await startFleet(['127.0.0.111', '127.0.0.112', '127.0.0.113'], 4);
  [one, two, three] = fleet.sites as [Site, Site, Site];
  config = join(fleet.dir, 'config.json');
  for (const site of fleet.sites) {
    const url = site.d.deployment.info.services.api.url;
    const ca = join(site.d.dataDir, 'pki', 'server-root.pem');
    expect((await login(config, site.name, url, ADMIN_PASSWORD, ['--ca', ca])).code).toBe(0);
  }
  const [m0, m1, m2, m3] = fleet.macs as [string, string, string, string];
  await register(fleet, one, [m0, m1, m2, m3]);
  await Promise.all([
    startDevice(fleet, m0, one),
    startDevice(fleet, m1, one),
    startDevice(fleet, m2, one),
  ]);
}, 120_000);
afterAll(async () => {
  await fleet?.stop();
});

describe('homeport move', () => {
  it('--dry-run lists every call it would make, on which server, and changes nothing', async () => {
    const m0 = fleet.macs[0];
    const before = await snapshot(m0);
    const r = await homeport(config, ['move', m0.toLowerCase(), '--to', 'two', '--dry-run']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const changes = lines.filter((l) => l.startsWith('would'));
    expect(changes.map((l) => l.replace(/\s+\(.*$/, '').split(/\s+/))).toEqual([
      ['would', 'two', 'POST', '/api/identity/devices'],
      ['would', 'two', 'PUT', '/api/certs'],
      ['would', 'one', 'POST', '/api/bootstrap'],
      [
        'would',
        'one',
        'PUT',
        `/api/management/devices/${m0}/bootstrap-server/{new`,
        'definition',
        'id}',
      ],
      ['would', 'one', 'POST', `/api/management/devices/${m0}/commands/trigger-bootstrap`],
    ]);
    expect(changes[1]).toMatch(/If-Match .*adds 2 CAs/);
    expect(lines).toContainEqual(expect.stringMatching(/^read +one +GET +\/api\/users\/me/));
    expect(lines.at(-1)).toMatch(/0 arrived, 0 failed, 1 skipped .*dry run: nothing was changed/);
    expect(await snapshot(m0)).toEqual(before);
  });

  it('--dry-run --json prints one parsable line per call, the device and the summary', async () => {
    const m0 = fleet.macs[0];
    const r = await homeport(config, ['move', m0, '--to', 'two', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    const calls = lines.filter((l) => l.type === 'call');
    expect(calls.filter((c) => c.method !== 'GET').every((c) => c.sent === false)).toBe(true);
    expect(calls.filter((c) => c.method !== 'GET')).toHaveLength(5);
    expect(lines.filter((l) => l.type === 'device')).toEqual([
      expect.objectContaining({ mac: m0, from: 'one', to: 'two', home: 'one', status: 'skipped' }),
    ]);
    expect(lines.at(-1)).toMatchObject({ type: 'summary', skipped: 1, failed: 0, dry_run: true });
  });

  it('moves devices named by alias and by a CSV sheet, with --json lines that parse', async () => {
    const [m0, m1] = fleet.macs as [string, string];
    const alias = (await device(one, m1)).alias as string;
    const sheet = join(fleet.dir, 'move.csv');
    await writeFile(
      sheet,
      `Alias;Serial No;MAC\r\nPump;X;${m0.replace(/:/g, '-').toLowerCase()}\r\n`,
    );

    const r = await homeport(config, ['move', alias, '--file', sheet, '--to', 'two', '--json']);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    const devices = lines.filter((l) => l.type === 'device');
    expect(devices).toHaveLength(2);
    for (const line of devices) {
      expect(line).toMatchObject({ from: 'one', to: 'two', home: 'one', status: 'arrived' });
      expect(line.seconds).toBeGreaterThan(0);
    }
    expect(devices.map((d) => d.mac).sort()).toEqual([m0, m1].sort());
    expect(lines.at(-1)).toMatchObject({ type: 'summary', arrived: 2, failed: 0, total: 2 });
    expect((await device(two, m0)).is_online).toBe(true);
  });

  it('--all --online-only moves only the online devices of --from', async () => {
    const [, , m2] = fleet.macs as [string, string, string, string];
    const r = await homeport(config, [
      'move',
      '--all',
      '--from',
      'one',
      '--online-only',
      '--to',
      'three',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const devices = jsonLines(r.stdout).filter((l) => l.type === 'device');
    expect(devices).toEqual([expect.objectContaining({ mac: m2, status: 'arrived', to: 'three' })]);
    expect((await device(three, m2)).is_online).toBe(true);
  });

  it('exits 1 and says why when a device cannot be moved', async () => {
    const r = await homeport(config, ['move', 'no-such-pump', '--to', 'two']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /no-such-pump: failed at step resolve .*neither a MAC address nor the alias/,
    );
    expect(r.stdout).toMatch(/0 arrived, 1 failed, 0 skipped/);
  });

  it('--help explains the steps and gives examples', async () => {
    const r = await homeport(config, ['move', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--rollback/);
    expect(r.stdout).toMatch(/\$ homeport move 00:0A:14:81:22:33 --to server2/);
  });
});
