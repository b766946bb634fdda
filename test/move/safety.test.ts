import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, type ConditionalPut } from '../../src/cli/api-client.js';
import { isHomeportError } from '../../src/errors.js';
import {
  mergeTrust,
  MoveCalls,
  moveDevices,
  normalizeServerUri,
  serverRootOf,
  type MoveOptions,
  type MoveServer,
} from '../../src/move/index.js';
import { createRootCa, fingerprint256, toPemBundle, type x509 } from '../../src/pki/index.js';
import {
  definitions,
  device,
  deviceRoot,
  moveServer,
  msOf,
  register,
  startDevice,
  startFleet,
  trustFingerprints,
  type Fleet,
  type Site,
  waitFor,
} from './helpers.js';

let fleet: Fleet;
let one: Site;
let two: Site;
let three: Site;

const move = (options: Omit<MoveOptions, 'servers'>, servers?: MoveServer[]) =>
  moveDevices({
    servers: servers ?? fleet.sites.map((s) => s.server),
    pollIntervalMs: 100,
    timeoutMs: 30_000,
    ...options,
  });

/** What a deployment's state looks like to an auditor: trust store, definitions, the device. */
async function snapshot(mac: string) {
  return Promise.all(
    fleet.sites.map(async (site) => ({
      trust: await trustFingerprints(site),
      definitions: await definitions(site),
      device: await device(site, mac),
    })),
  );
}

async function putTrust(site: Site, pems: string[]): Promise<void> {
  const r = await site.d.api('GET', '/api/certs', { token: site.token });
  const text = Buffer.from(r.body.data.certs, 'base64').toString('utf8') + pems.join('');
  const put = await site.d.api('PUT', '/api/certs', {
    token: site.token,
    json: { certs: Buffer.from(text).toString('base64') },
  });
  expect(put.status).toBe(200);
}

const ca = (commonName: string) => createRootCa({ commonName, validityDays: 30 });
const pemOf = (cert: x509.X509Certificate) => toPemBundle([cert]);

beforeAll(async () => {
  fleet = await startFleet(['127.0.0.104', '127.0.0.105', '127.0.0.106'], 3);
  [one, two, three] = fleet.sites as [Site, Site, Site];
  const company = await one.d.api('POST', '/api/companies', {
    token: one.token,
    json: { name: 'Pumps' },
  });
  expect(company.status).toBe(201);
  const [m0, m1, m2] = fleet.macs as [string, string, string];
  await register(fleet, one, [m0, m1]);
  await register(fleet, one, [m2], company.body.data.id);
  await Promise.all([startDevice(fleet, m0, one), startDevice(fleet, m2, one)]);
}, 120_000);
afterAll(async () => {
  await fleet?.stop();
});

describe('a move that must not start', () => {
  it('stops before any change when the user lacks ChangeDeviceDMServer on Server 0, naming it', async () => {
    const m2 = fleet.macs[2];
    const companyId = (await device(one, m2)).company.id;
    const user = await one.d.api('POST', '/api/users', {
      token: one.token,
      json: {
        email: 'mover@example.com',
        first_name: 'Mo',
        last_name: 'Ver',
        password: 'a-long-password-1',
        companies: [
          {
            company: { id: companyId },
            permissions: ['ViewDevice', 'EditDevice', 'ViewDMServer', 'AdmDMServer'],
          },
        ],
      },
    });
    expect(user.status).toBe(201);
    const mover = await moveServer(one.d, 'one', 'mover@example.com', 'a-long-password-1');
    const before = await snapshot(m2);

    const report = await move({ devices: [m2], to: 'two' }, [mover, two.server, three.server]);
    expect(report.devices[0]).toMatchObject({
      status: 'failed',
      step: 'permissions',
      code: 'MOVE_PERMISSION_MISSING',
    });
    expect(report.devices[0]?.error).toMatch(
      /on one \(Server 0\) does not hold ChangeDeviceDMServer/,
    );
    expect(report.devices[0]?.error).toMatch(/Nothing was changed/);
    expect(await snapshot(m2)).toEqual(before);
    mover.client.close();
  });

  it('stops before any change when Server 0 is not a profile, naming its Bootstrap Server', async () => {
    const m0 = fleet.macs[0];
    const first = await move({ devices: [m0], to: 'two' });
    expect(first.devices[0]).toMatchObject({ status: 'arrived', home: 'one' });
    const before = await snapshot(m0);

    const report = await move({ devices: [m0], to: 'three' }, [two.server, three.server]);
    expect(report.devices[0]).toMatchObject({
      status: 'failed',
      step: 'home',
      from: 'two',
      code: 'MOVE_HOME_UNKNOWN',
    });
    expect(report.devices[0]?.error).toContain(one.d.deployment.info.services.bootstrap.url);
    expect(report.devices[0]?.error).toMatch(/homeport login/);
    expect(await snapshot(m0)).toEqual(before);
  });
});

describe('the trust merge', () => {
  it('adds a CA whose subject the destination already trusts under another key', async () => {
    // Same name, different key: a DN comparison would call it present and lock devices out.
    const [mine, theirs] = await Promise.all([ca('Twin Device Root'), ca('Twin Device Root')]);
    expect(mine.cert.subject).toBe(theirs.cert.subject);
    await putTrust(two, [pemOf(mine.cert)]);
    await putTrust(one, [pemOf(theirs.cert)]);

    const merged = await mergeTrust(new MoveCalls({ dryRun: false }), one.server, two.server);
    expect(merged.added).toContain(fingerprint256(theirs.cert));
    const after = await trustFingerprints(two);
    expect(after).toContain(fingerprint256(mine.cert));
    expect(after).toContain(fingerprint256(theirs.cert));
    expect(after).toContain(deviceRoot(one));
  });

  it('reads again and keeps the other change when the store changed under it (412)', async () => {
    const [source, intruder] = await Promise.all([ca('Source Root'), ca('Intruder Root')]);
    await putTrust(one, [pemOf(source.cert)]);

    // The destination's client lets another editor in between the merge's read and its PUT.
    class Contended extends ApiClient {
      private interfered = false;
      override async putIfMatch<T>(
        path: string,
        etag: string,
        body: unknown,
      ): Promise<ConditionalPut<T>> {
        if (!this.interfered) {
          this.interfered = true;
          await putTrust(three, [pemOf(intruder.cert)]);
        }
        return super.putIfMatch<T>(path, etag, body);
      }
    }
    const client = new Contended({
      name: 'three',
      baseUrl: three.d.deployment.info.services.api.url,
      ca: three.d.serverRoot,
      token: three.token,
    });
    const before = await trustFingerprints(three);

    const merged = await mergeTrust(new MoveCalls({ dryRun: false }), one.server, {
      name: 'three',
      client,
    });
    expect(merged.attempts).toBe(2);
    const after = await trustFingerprints(three);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toContain(fingerprint256(intruder.cert));
    expect(after).toContain(fingerprint256(source.cert));
    expect(new Set(after).size).toBe(after.length);
    client.close();
  });
});

describe("Server 2's server root", () => {
  it('is refused when the chain its MS presents does not end in the root /api/info names', async () => {
    const { host, port } = two.d.deployment.info.services.management;
    const good = await serverRootOf({
      name: 'two',
      pinned: undefined,
      ms: { host, port },
      expected: two.d.deployment.pki.serverRootFingerprint,
    });
    expect(good).toMatchObject({
      source: 'management-server',
      fingerprint: two.d.deployment.pki.serverRootFingerprint,
    });

    // A profile pinning the wrong CA does not help either: the MS's own chain decides.
    const wrong = three.d.deployment.pki.serverRootFingerprint;
    const refused = serverRootOf({
      name: 'two',
      pinned: one.d.serverRoot,
      ms: { host, port },
      expected: wrong,
    });
    await expect(refused).rejects.toSatisfy((err) =>
      isHomeportError(err, 'MOVE_SERVER_ROOT_MISMATCH'),
    );
  });

  it('compares Bootstrap Server URLs normalised, never literally', () => {
    expect(normalizeServerUri('HTTPS://BS.Example.COM/')).toBe('https://bs.example.com:443');
    expect(normalizeServerUri('https://bs.example.com:443')).toBe('https://bs.example.com:443');
    expect(normalizeServerUri('https://127.0.0.1:8884/')).toBe('https://127.0.0.1:8884');
    expect(normalizeServerUri('https://127.0.0.1:8884')).not.toBe(
      normalizeServerUri('https://127.0.0.1:8885'),
    );
    expect(normalizeServerUri('not a url')).toBeUndefined();
  });
});

describe('a device that does not arrive', () => {
  it('is reported where it is, and with rollback sent back where it was', async () => {
    const m0 = fleet.macs[0]; // on two since the home test
    await three.d.deployment.stopService('management');
    try {
      const report = await move({ devices: [m0], to: 'three', timeoutMs: 3000, rollback: true });
      expect(report.devices[0]).toMatchObject({
        status: 'failed',
        step: 'verify',
        code: 'MOVE_NOT_ARRIVED',
      });
      expect(report.devices[0]?.error).toMatch(/did not come online on three within 3 s/);
      expect(report.devices[0]?.error).toMatch(/rolled back: one sends it to definition \d+ again/);
    } finally {
      await three.d.deployment.startService('management');
    }
    // Its home sends it to two again, and it goes back there.
    const assigned = (await device(one, m0)).management_server;
    expect(assigned).toMatchObject({ ...msOf(two), co_located: false });
    await waitFor(async () => (await device(two, m0))?.is_online === true, 20_000);
  });
});
