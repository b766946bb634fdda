import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa } from '../helpers/openssl.js';
import { addUser, makeWorld, type World } from './fixtures.js';

let w: World;
let dir: string;
let changer: { id: number; token: string };
let deviceViewer: { id: number; token: string };
let outsider: { id: number; token: string };
let serverId: number;

const IN_A = '00:0A:14:81:EE:01';
const IN_B = '00:0A:14:81:EE:02';
const UNCLAIMED = '00:0A:14:81:EE:03';

const path = (mac: string, suffix = '') =>
  `/api/management/devices/${mac}/bootstrap-server${suffix}`;
const auditOf = async (mac: string) =>
  (await w.d.deployment.repo.listAudit({ subject: `device:${mac}`, limit: 20 })).filter(
    (e) => e.action === 'device.management-server',
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'homeport-assign-'));
  w = await makeWorld({ host: '127.0.0.87' });
  changer = await addUser(w, 'changer', w.companies.a, ['ViewDevice', 'ChangeDeviceDMServer']);
  deviceViewer = await addUser(w, 'device-viewer', w.companies.a, ['ViewDevice', 'AdmDMServer']);
  outsider = await addUser(w, 'outsider', w.companies.b, ['ViewDevice', 'ChangeDeviceDMServer']);
  const repo = w.d.deployment.repo;
  await repo.createDevice({ mac: IN_A, alias: 'a', serialNumber: 'SA', companyId: w.companies.a });
  await repo.createDevice({ mac: IN_B, alias: 'b', serialNumber: 'SB', companyId: w.companies.b });
  await repo.createDevice({ mac: UNCLAIMED, alias: 'u', serialNumber: 'SU' });
  const ca = await makeCa(dir, 'Server 2 Root');
  const r = await w.d.api('POST', '/api/bootstrap', {
    token: w.admin,
    json: {
      name: 'Server 2',
      address: 'management.server2.example',
      port: 8883,
      company_id: w.companies.b,
      ca: await readFile(ca.cert, 'utf8'),
    },
  });
  if (r.status !== 201) throw new Error(r.text);
  serverId = r.body.data.id;
}, 60_000);
afterAll(async () => {
  await w?.d.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('GET /api/users/me', () => {
  it("answers the caller's own record with companies, permissions and is_sysadmin", async () => {
    const r = await w.d.api('GET', '/api/users/me', { token: changer.token });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({
      id: changer.id,
      email: 'changer@example.com',
      is_sysadmin: false,
      companies: [
        {
          company: { id: w.companies.a, name: 'Company A' },
          permissions: ['ViewDevice', 'ChangeDeviceDMServer'],
        },
      ],
    });
    const byId = await w.d.api('GET', `/api/users/${changer.id}`, { token: changer.token });
    expect(r.body).toEqual(byId.body);
  });

  it('tells a SysAdmin it is one, and refuses a caller without a token', async () => {
    const admin = await w.d.api('GET', '/api/users/me', { token: w.admin });
    expect(admin.body.data).toMatchObject({ email: 'admin', is_sysadmin: true });

    const anonymous = await w.d.api('GET', '/api/users/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('UNAUTHENTICATED');
  });
});

describe('GET /api/management/devices/{mac}/bootstrap-server', () => {
  it('answers the co-located MS as id 0 for a device assigned nowhere else', async () => {
    const r = await w.d.api('GET', path(IN_A), { token: deviceViewer.token });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({
      id: 0,
      co_located: true,
      name: w.d.deployment.info.name,
      address: '127.0.0.87',
      port: w.d.deployment.info.services.management.port,
    });
  });

  it("refuses a caller without ViewDevice in the device's company", async () => {
    const r = await w.d.api('GET', path(IN_A), { token: outsider.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('ViewDevice or ChangeDeviceDMServer');
  });
});

describe('PUT /api/management/devices/{mac}/bootstrap-server/{serverId}', () => {
  it('assigns the device, audited, and the device shows it; assigning again changes nothing', async () => {
    const r = await w.d.api('PUT', path(IN_A, `/${serverId}`), { token: changer.token });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({
      id: serverId,
      name: 'Server 2',
      address: 'management.server2.example',
      port: 8883,
      co_located: false,
    });
    expect((await w.d.deployment.repo.getDevice(IN_A))?.managementServerId).toBe(serverId);
    const detail = await w.d.api('GET', `/api/management/devices/${IN_A}`, {
      token: changer.token,
    });
    expect(detail.body.data.management_server).toMatchObject({ id: serverId, port: 8883 });

    const again = await w.d.api('PUT', path('00-0a-14-81-ee-01', `/${serverId}`), {
      token: changer.token,
    });
    expect(again.status).toBe(200);
    const audit = await auditOf(IN_A);
    expect(audit.map((e) => [e.actor, e.detail])).toEqual([
      [
        'changer@example.com',
        {
          from: null,
          to: serverId,
          name: 'Server 2',
          address: 'management.server2.example',
          port: 8883,
        },
      ],
    ]);
  });

  it('sends the device home again with serverId 0 and with DELETE', async () => {
    const zero = await w.d.api('PUT', path(IN_A, '/0'), { token: changer.token });
    expect(zero.body.data).toMatchObject({ id: 0, co_located: true });
    expect((await w.d.deployment.repo.getDevice(IN_A))?.managementServerId).toBeNull();

    await w.d.api('PUT', path(IN_A, `/${serverId}`), { token: changer.token });
    const del = await w.d.api('DELETE', path(IN_A), { token: changer.token });
    expect(del.status).toBe(200);
    expect(del.body.data).toMatchObject({ id: 0, co_located: true });
    const audit = await auditOf(IN_A);
    expect(audit.slice(0, 3).map((e) => e.detail?.to)).toEqual([null, serverId, null]);
  });

  it('needs ChangeDeviceDMServer in the device’s company, and names it', async () => {
    const viewer = await w.d.api('PUT', path(IN_A, `/${serverId}`), {
      token: deviceViewer.token,
    });
    const other = await w.d.api('PUT', path(IN_A, `/${serverId}`), { token: outsider.token });
    const del = await w.d.api('DELETE', path(IN_A), { token: deviceViewer.token });
    for (const r of [viewer, other, del]) {
      expect(r.status).toBe(403);
      expect(r.body.message).toContain('ChangeDeviceDMServer');
    }
    expect((await w.d.deployment.repo.getDevice(IN_A))?.managementServerId).toBeNull();
  });

  it('lets a holder in the device’s company use a definition of another company', async () => {
    const r = await w.d.api('PUT', path(IN_B, `/${serverId}`), { token: outsider.token });
    expect(r.status).toBe(200);
    await w.d.api('DELETE', path(IN_B), { token: outsider.token });
  });

  it('leaves a device of no company to a SysAdmin', async () => {
    const refused = await w.d.api('PUT', path(UNCLAIMED, `/${serverId}`), {
      token: changer.token,
    });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain('SysAdmin');

    const r = await w.d.api('PUT', path(UNCLAIMED, `/${serverId}`), { token: w.admin });
    expect(r.status).toBe(200);
    await w.d.api('DELETE', path(UNCLAIMED), { token: w.admin });
  });

  it('answers 404 for an unknown definition or device, and 400 for a bad MAC', async () => {
    const server = await w.d.api('PUT', path(IN_A, '/9999'), { token: changer.token });
    expect(server.status).toBe(404);
    expect(server.body.code).toBe('MANAGEMENT_SERVER_NOT_FOUND');

    const device = await w.d.api('PUT', path('00:0A:14:81:EE:99', `/${serverId}`), {
      token: changer.token,
    });
    expect(device.status).toBe(404);
    expect(device.body.code).toBe('DEVICE_NOT_FOUND');

    const bad = await w.d.api('PUT', path('not-a-mac', `/${serverId}`), { token: changer.token });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('MAC_INVALID');
    const negative = await w.d.api('PUT', path(IN_A, '/-1'), { token: changer.token });
    expect(negative.status).toBe(400);
  });
});

describe('the OpenAPI document', () => {
  it('describes the definition and assignment routes behind a bearer token, with id 0 explained', async () => {
    const doc = (await w.d.api('GET', '/api/openapi.json')).body;
    const routes = {
      '/api/bootstrap': ['get', 'post'],
      '/api/bootstrap/{id}': ['get', 'put', 'delete'],
      '/api/management/devices/{mac}/bootstrap-server': ['get', 'delete'],
      '/api/management/devices/{mac}/bootstrap-server/{serverId}': ['put'],
      '/api/users/me': ['get'],
    };
    for (const [route, methods] of Object.entries(routes)) {
      for (const method of methods) {
        const operation = doc.paths[route]?.[method];
        expect(operation, `${method} ${route}`).toBeDefined();
        expect(operation.security).toEqual([{ bearer: [] }]);
        expect(operation.summary).toBeTruthy();
      }
    }
    expect(doc.paths['/api/bootstrap'].get.description).toContain('id 0');
    expect(doc.paths['/api/bootstrap'].post.responses['409']).toBeDefined();
    expect(doc.paths['/api/bootstrap'].post.responses['502']).toBeDefined();
  });
});
