import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, makeWorld, type World } from './fixtures.js';

let w: World;
let creator: { id: number; token: string };
let viewer: { id: number; token: string };
let editor: { id: number; token: string };
let outsider: { id: number; token: string };

// Devices every test may read; tests that delete or revoke make their own.
const IN_A = '00:0A:14:81:22:33';
const IN_A1 = '00:0A:14:81:22:34';
const IN_B = '00:0A:14:81:22:35';
const UNCLAIMED = '00:0A:14:81:22:36';

async function register(mac: string, companyId: number | undefined, extra: object = {}) {
  const r = await w.d.api('POST', '/api/identity/devices', {
    token: w.admin,
    json: {
      alias: `Router ${mac.slice(-2)}`,
      serial_number: `SN-${mac.slice(-5).replace(':', '')}`,
      mac_address: mac,
      ...(companyId !== undefined && { company_id: companyId }),
      ...extra,
    },
  });
  if (r.status !== 201) throw new Error(r.text);
  return r.body.data;
}

beforeAll(async () => {
  w = await makeWorld({ host: '127.0.0.31' });
  creator = await addUser(w, 'creator', w.companies.a, ['ViewDevice', 'CreateDevice']);
  viewer = await addUser(w, 'device-viewer', w.companies.a, ['ViewDevice']);
  editor = await addUser(w, 'editor', w.companies.a, ['ViewDevice', 'EditDevice', 'DeleteDevice']);
  outsider = await addUser(w, 'outsider', w.companies.b, ['ViewDevice']);
  await register(IN_A, w.companies.a, { imei: '356938035643809', device_type: 'RUT956' });
  await register(IN_A1, w.companies.a1);
  await register(IN_B, w.companies.b);
  await register(UNCLAIMED, undefined);
});
afterAll(async () => {
  await w?.d.stop();
});

describe('POST /api/identity/devices', () => {
  it('registers a device given with dashes and answers its MAC canonical', async () => {
    const r = await w.d.api('POST', '/api/identity/devices', {
      token: creator.token,
      json: {
        alias: 'Gate 1',
        serial_number: 'SN-1001',
        mac_address: '00-0a-14-81-aa-01',
        order_code: 'RUT9560000',
        company_id: w.companies.a1,
      },
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      success: true,
      data: {
        alias: 'Gate 1',
        display_name: 'Gate 1',
        serial_number: 'SN-1001',
        mac_address: '00:0A:14:81:AA:01',
        imei: null,
        order_code: 'RUT9560000',
        device_type: null,
        company: { id: w.companies.a1, name: 'Company A1' },
        is_online: false,
        last_seen: null,
      },
    });
    const audit = await w.d.deployment.repo.listAudit({
      subject: 'device:00:0A:14:81:AA:01',
      limit: 5,
    });
    expect(audit.map((e) => [e.actor, e.action])).toEqual([
      ['creator@example.com', 'device.create'],
    ]);
  });

  it('refuses a user without CreateDevice in the company, naming the permission', async () => {
    const r = await w.d.api('POST', '/api/identity/devices', {
      token: viewer.token,
      json: {
        alias: 'x',
        serial_number: 'y',
        mac_address: '00:0A:14:81:AA:02',
        company_id: w.companies.a,
      },
    });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ success: false, code: 'PERMISSION_NOT_HELD' });
    expect(r.body.message).toContain('CreateDevice');
  });

  it('lets only a SysAdmin register a device outside companies', async () => {
    const json = { alias: 'x', serial_number: 'y', mac_address: '00:0A:14:81:AA:03' };
    const r = await w.d.api('POST', '/api/identity/devices', { token: creator.token, json });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('company_id');
  });

  it('answers 409 DEVICE_EXISTS for a MAC already registered, in any spelling', async () => {
    const r = await w.d.api('POST', '/api/identity/devices', {
      token: w.admin,
      json: { alias: 'again', serial_number: 'z', mac_address: '000a.1481.2233' },
    });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ success: false, code: 'DEVICE_EXISTS' });
    expect(r.body.message).toContain(IN_A);
  });

  it('answers 404 naming company_id for a company that does not exist', async () => {
    const r = await w.d.api('POST', '/api/identity/devices', {
      token: w.admin,
      json: { alias: 'x', serial_number: 'y', mac_address: '00:0A:14:81:AA:04', company_id: 999 },
    });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('COMPANY_NOT_FOUND');
    expect(r.body.message).toContain('company_id');
  });

  it('refuses a bad MAC naming the value, and bad alias, serial and IMEI', async () => {
    const base = { alias: 'x', serial_number: 'y', mac_address: '00:0A:14:81:AA:05' };
    const post = (json: object) =>
      w.d.api('POST', '/api/identity/devices', { token: w.admin, json: { ...base, ...json } });

    const mac = await post({ mac_address: '00:0A:14:81:22' });
    expect(mac.status).toBe(400);
    expect(mac.body.code).toBe('MAC_INVALID');
    expect(mac.body.message).toContain('"00:0A:14:81:22"');

    for (const [field, value] of [
      ['alias', 'a'.repeat(101)],
      ['alias', ''],
      ['serial_number', 's'.repeat(65)],
      ['imei', '35693803564380'.slice(0, 13)],
      ['imei', '35693803564380x'],
    ] as const) {
      const r = await post({ [field]: value });
      expect(r.status, `${field}=${value}`).toBe(400);
      expect(r.body.message).toContain(field);
    }
    const unknown = await post({ colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain("'colour'");
  });
});

describe('DELETE /api/identity/devices/{mac}', () => {
  it('removes a device for a user with DeleteDevice, addressed in Cisco dots', async () => {
    await register('00:0A:14:81:BB:01', w.companies.a);
    const r = await w.d.api('DELETE', '/api/identity/devices/000a.1481.bb01', {
      token: editor.token,
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ data: null, success: true });
    const after = await w.d.api('GET', '/api/management/devices/00:0A:14:81:BB:01', {
      token: w.admin,
    });
    expect(after.status).toBe(404);
    expect(after.body.code).toBe('DEVICE_NOT_FOUND');
  });

  it('refuses a user without DeleteDevice and keeps the device', async () => {
    const r = await w.d.api('DELETE', `/api/identity/devices/${IN_A}`, { token: viewer.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('DeleteDevice');
    expect(await w.d.deployment.repo.getDevice(IN_A)).toBeDefined();
  });

  it('answers 404 for an unknown device and 400 for a bad MAC', async () => {
    const unknown = await w.d.api('DELETE', '/api/identity/devices/00-0a-14-00-00-00', {
      token: w.admin,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('00:0A:14:00:00:00');
    const bad = await w.d.api('DELETE', '/api/identity/devices/not-a-mac', { token: w.admin });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('MAC_INVALID');
  });
});

describe('GET /api/management/devices', () => {
  const macs = (r: { body: { data: { mac_address: string }[] } }) =>
    r.body.data.map((d) => d.mac_address).filter((m) => m.startsWith('00:0A:14:81:22'));

  it('lists every device to a SysAdmin, unclaimed ones included, with total_items', async () => {
    const r = await w.d.api('GET', '/api/management/devices', { token: w.admin });
    expect(r.status).toBe(200);
    expect(macs(r)).toEqual([IN_A, IN_A1, IN_B, UNCLAIMED]);
    expect(r.body.total_items).toBe(r.body.data.length);
    expect(r.body.data[0]).toMatchObject({
      imei: '356938035643809',
      device_type: { type_id: null, name: 'RUT956' },
      company: { id: w.companies.a, name: 'Company A' },
    });
  });

  it("shows a viewer only the devices of their company's tree", async () => {
    const r = await w.d.api('GET', '/api/management/devices', { token: viewer.token });
    expect(r.status).toBe(200);
    expect(macs(r)).toEqual([IN_A, IN_A1]);
    const narrowed = await w.d.api('GET', `/api/management/devices?companies=${w.companies.b}`, {
      token: viewer.token,
    });
    expect(narrowed.body).toMatchObject({ data: [], total_items: 0 });
  });

  it('refuses a user without ViewDevice anywhere', async () => {
    const r = await w.d.api('GET', '/api/management/devices', { token: w.users.nobody.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('ViewDevice');
  });

  it('filters by name, by MAC or serial, by companies and by presence', async () => {
    const get = async (query: string) =>
      macs(await w.d.api('GET', `/api/management/devices?${query}`, { token: w.admin }));

    expect(await get('name=router%2034')).toEqual([IN_A1]);
    expect(await get('search=00-0a-14-81-22-35')).toEqual([IN_B]);
    expect(await get('search=SN-2236')).toEqual([UNCLAIMED]);
    expect(await get(`companies=${w.companies.a1}&companies=${w.companies.b}`)).toEqual([
      IN_A1,
      IN_B,
    ]);

    await w.d.deployment.repo.setDeviceOnline(IN_A1, true, new Date().toISOString());
    expect(await get('isOnline=true')).toEqual([IN_A1]);
    expect(await get('isOnline=false')).toEqual([IN_A, IN_B, UNCLAIMED]);
    await w.d.deployment.repo.setDeviceOnline(IN_A1, false, new Date().toISOString());
  });

  it('pages, keeping total_items, and rejects bad paging', async () => {
    const r = await w.d.api(
      'GET',
      '/api/management/devices?search=00:0A:14:81:22&page=2&pageSize=1',
      {
        token: viewer.token,
      },
    );
    expect(r.body.total_items).toBe(2);
    expect(r.body.data.map((d: { mac_address: string }) => d.mac_address)).toEqual([IN_A1]);
    for (const query of ['page=0', 'pageSize=1001', 'isOnline=maybe', 'companies=x']) {
      const bad = await w.d.api('GET', `/api/management/devices?${query}`, { token: w.admin });
      expect(bad.status, query).toBe(400);
    }
  });
});

describe('GET /api/management/devices/{mac}', () => {
  it('reads a device with its certificate, BS and MS, addressed in dashes', async () => {
    const repo = w.d.deployment.repo;
    await repo.setDeviceRegistration(
      IN_A1,
      { bootstrapServerUri: 'https://bs.example:8884' },
      new Date().toISOString(),
    );
    const r = await w.d.api('GET', '/api/management/devices/00-0A-14-81-22-34', {
      token: viewer.token,
    });
    expect(r.status).toBe(200);
    const ms = w.d.deployment.info.services.management;
    expect(r.body.data).toMatchObject({
      mac_address: IN_A1,
      certificate: null,
      bootstrap_server_uri: 'https://bs.example:8884',
      management_server: {
        id: 0,
        name: w.d.deployment.info.name,
        address: ms.host,
        port: ms.port,
        co_located: true,
      },
    });
  });

  it('refuses a user whose ViewDevice is in another company', async () => {
    const r = await w.d.api('GET', `/api/management/devices/${IN_A}`, { token: outsider.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('ViewDevice');
  });

  it('shows an unclaimed device to a SysAdmin only', async () => {
    const path = `/api/management/devices/${UNCLAIMED}`;
    expect((await w.d.api('GET', path, { token: w.admin })).status).toBe(200);
    const r = await w.d.api('GET', path, { token: viewer.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('SysAdmin');
  });
});

describe('POST /api/management/devices/{mac}/certificate/revoke', () => {
  const mac = '00:0A:14:81:CC:01';
  beforeAll(async () => {
    await register(mac, w.companies.a);
    await w.d.deployment.repo.recordCertificate({
      serial: '0a1b2c',
      deviceMac: mac,
      issuer: 'CN=Homeport Device Issuing CA',
      notBefore: new Date(Date.now() - 60_000).toISOString(),
      notAfter: new Date(Date.now() + 86_400_000).toISOString(),
    });
  });

  it('refuses a user without EditDevice and leaves the certificate valid', async () => {
    const r = await w.d.api('POST', `/api/management/devices/${mac}/certificate/revoke`, {
      token: viewer.token,
    });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('EditDevice');
    expect((await w.d.deployment.repo.latestCertificate(mac))?.revokedAt).toBeNull();
  });

  it('revokes the current certificate for an editor, with an audit entry', async () => {
    const r = await w.d.api('POST', '/api/management/devices/000a.1481.cc01/certificate/revoke', {
      token: editor.token,
    });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ serial: '0a1b2c', revoked: true });
    const detail = await w.d.api('GET', `/api/management/devices/${mac}`, { token: viewer.token });
    expect(detail.body.data.certificate).toMatchObject({ serial: '0a1b2c', revoked: true });
    const audit = await w.d.deployment.repo.listAudit({ subject: `device:${mac}`, limit: 5 });
    expect(audit[0]).toMatchObject({ action: 'certificate.revoke', actor: 'editor@example.com' });
  });

  it('answers 404 for a device the BS has issued no certificate', async () => {
    const r = await w.d.api('POST', `/api/management/devices/${IN_A}/certificate/revoke`, {
      token: editor.token,
    });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('CERTIFICATE_NOT_FOUND');
  });
});

describe('the OpenAPI document', () => {
  it('describes the device, command and trust-store routes, each behind a bearer token', async () => {
    const doc = (await w.d.api('GET', '/api/openapi.json')).body;
    const routes = {
      '/api/identity/devices': ['post'],
      '/api/identity/devices/{mac}': ['delete'],
      '/api/management/devices': ['get'],
      '/api/management/devices/{mac}': ['get'],
      '/api/management/devices/{mac}/certificate/revoke': ['post'],
      '/api/management/devices/{mac}/commands': ['get'],
      '/api/management/devices/{mac}/commands/{id}': ['get'],
      '/api/management/devices/{mac}/commands/reboot': ['post'],
      '/api/management/devices/{mac}/commands/trigger-bootstrap': ['post'],
      '/api/certs': ['get', 'put'],
      '/api/manufacturers': ['get', 'put'],
    };
    for (const [path, methods] of Object.entries(routes)) {
      for (const method of methods) {
        const operation = doc.paths[path]?.[method];
        expect(operation, `${method} ${path}`).toBeDefined();
        expect(operation.security).toEqual([{ bearer: [] }]);
        expect(operation.summary).toBeTruthy();
        expect(operation.responses['403'], `${method} ${path}`).toBeDefined();
      }
    }
  });
});
