import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moveDevices, type MoveOptions } from '../../src/move/index.js';
import {
  definitions,
  device,
  deviceRoot,
  msOf,
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

const move = (options: Omit<MoveOptions, 'servers'>, sites?: Site[]) =>
  moveDevices({
    servers: (sites ?? fleet.sites).map((s) => s.server),
    pollIntervalMs: 100,
    timeoutMs: 30_000,
    ...options,
  });

beforeAll(async () => {
  fleet = await startFleet(['127.0.0.101', '127.0.0.102', '127.0.0.103'], 5);
  [one, two, three] = fleet.sites as [Site, Site, Site];
  const [m0, m1, m2, , m4] = fleet.macs as [string, string, string, string, string];
  await register(fleet, one, [m0, m1, m2]);
  await register(fleet, two, [m4]);
  await Promise.all([
    startDevice(fleet, m0, one),
    startDevice(fleet, m1, one),
    startDevice(fleet, m2, one),
    startDevice(fleet, m4, two),
  ]);
}, 120_000);
afterAll(async () => {
  await fleet?.stop();
});

describe('moving devices between three deployments', () => {
  it('moves devices of two different homes to one destination at once, losing no trust entry', async () => {
    const [, , m2, , m4] = fleet.macs as [string, string, string, string, string];
    const before = await trustFingerprints(three);

    // Two separate runs race on the destination's trust store (If-Match decides).
    const [a, b] = await Promise.all([
      move({ devices: [m2], to: 'three' }),
      move({ devices: [m4], to: 'three' }),
    ]);
    expect(a.devices[0]).toMatchObject({ mac: m2, from: 'one', home: 'one', status: 'arrived' });
    expect(b.devices[0]).toMatchObject({ mac: m4, from: 'two', home: 'two', status: 'arrived' });

    const after = await trustFingerprints(three);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toContain(deviceRoot(one));
    expect(after).toContain(deviceRoot(two));
    expect(new Set(after).size).toBe(after.length);
    expect((await device(three, m2)).is_online).toBe(true);
    expect((await device(three, m4)).is_online).toBe(true);
  });

  it('finishes a move cut short after the trust step, without a second trust entry or definition', async () => {
    const m1 = fleet.macs[1];
    const cut = await move({ devices: [m1], to: 'two', stopAfter: 'trust' });
    expect(cut.devices[0]).toMatchObject({ status: 'skipped', step: 'trust' });
    const trustAfterCut = await trustFingerprints(two);
    expect(trustAfterCut).toContain(deviceRoot(one));
    expect((await device(two, m1)).is_online).toBe(false); // registered, not there yet
    expect((await device(one, m1)).is_online).toBe(true);

    const again = await move({ devices: [m1], to: 'two' });
    expect(again.devices[0]).toMatchObject({
      mac: m1,
      from: 'one',
      home: 'one',
      status: 'arrived',
    });
    expect(await trustFingerprints(two)).toEqual(trustAfterCut);
    const ms2 = msOf(two);
    expect((await definitions(one)).filter((d) => d.port === ms2.port)).toHaveLength(1);

    const third = await move({ devices: [m1], to: 'two' });
    expect(third.devices[0]).toMatchObject({
      status: 'skipped',
      note: expect.stringMatching(/already managed by two/),
    });
  });

  it('moves a device 1→2, then 2→3 (defined and assigned on its home, triggered through 2), then home', async () => {
    const m0 = fleet.macs[0];
    const home = one.d.deployment.info.services.bootstrap.url;

    const first = await move({ devices: [m0], to: 'two' });
    expect(first.devices[0]).toMatchObject({
      from: 'one',
      to: 'two',
      home: 'one',
      status: 'arrived',
    });
    expect((await device(two, m0)).bootstrap_server_uri).toBe(home);

    const definedOnTwo = await definitions(two);
    const second = await move({ devices: [m0], to: 'three' });
    expect(second.devices[0]).toMatchObject({
      from: 'two',
      to: 'three',
      home: 'one',
      status: 'arrived',
    });
    const ms3 = msOf(three);
    const defined = (await definitions(one)).find(
      (d) => d.port === ms3.port && d.address === ms3.address,
    );
    expect(defined).toBeDefined();
    expect((await device(one, m0)).management_server.id).toBe(defined.id);
    expect(await definitions(two)).toEqual(definedOnTwo); // Server 1 defines nothing
    const commands = await two.d.api('GET', `/api/management/devices/${m0}/commands`, {
      token: two.token,
    });
    expect(commands.body.data[0]).toMatchObject({ type: 'trigger-bootstrap' });

    const back = await move({ devices: [m0], to: 'one' });
    expect(back.devices[0]).toMatchObject({
      from: 'three',
      to: 'one',
      home: 'one',
      status: 'arrived',
    });
    expect((await device(one, m0)).management_server).toMatchObject({ id: 0, co_located: true });
    expect((await device(three, m0)).is_online).toBe(false);
  });
});
