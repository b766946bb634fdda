import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createIssuingCa,
  createRootCa,
  issueServerCertificate,
  toPemBundle,
  type Issuer,
} from '../../src/pki/index.js';
import { startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import { makeCa, makeDeviceCert } from '../helpers/openssl.js';
import { addUser, makeWorld, type World } from './fixtures.js';

// Deployment A answers the API; B is the Management Server being defined; the TLS servers of
// the chain tests listen on a third address.
const HOST_A = '127.0.0.83';
const HOST_B = '127.0.0.84';
const HOST_TLS = '127.0.0.85';

let w: World;
let b: TestDeployment;
let dir: string;
let adm: { id: number; token: string };
let dmViewer: { id: number; token: string };
let outsider: { id: number; token: string };
let selfSignedCa: string;
let notSelfSigned: string;
let root: Issuer;
let issuing: Issuer;
const servers: Server[] = [];

const msOf = (d: TestDeployment) => d.deployment.info.services.management;
const auditOf = (subject: string) => w.d.deployment.repo.listAudit({ subject, limit: 20 });

function post(json: object, token = adm.token) {
  return w.d.api('POST', '/api/bootstrap', { token, json });
}

/** A TLS server on HOST_TLS that presents `chain` (PEM, leaf first); answers its port. */
async function presenting(chain: string, key: string): Promise<number> {
  const server = createTlsServer({ key, cert: chain });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, HOST_TLS, resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** A port on HOST_TLS that nothing listens on any more. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, HOST_TLS, resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'homeport-ms-defs-'));
  w = await makeWorld({ host: HOST_A });
  b = await startTestDeployment({ host: HOST_B, name: 'Server B' });
  adm = await addUser(w, 'dm-admin', w.companies.a, ['AdmDMServer']);
  dmViewer = await addUser(w, 'dm-viewer', w.companies.a, ['ViewDMServer']);
  outsider = await addUser(w, 'dm-outsider', w.companies.b, ['AdmDMServer']);
  const ca = await makeCa(dir, 'Lab MS Root');
  selfSignedCa = await readFile(ca.cert, 'utf8');
  const leaf = await makeDeviceCert(dir, ca, { name: 'leaf', cn: '00:0A:14:81:22:33' });
  notSelfSigned = await readFile(leaf.cert, 'utf8');
  root = await createRootCa({ commonName: 'Test MS Root', validityDays: 30 });
  issuing = await createIssuingCa(root, { commonName: 'Test MS Issuing', validityDays: 30 });
}, 60_000);
afterAll(async () => {
  servers.forEach((server) => server.close());
  await w?.d.stop();
  await b?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('POST /api/bootstrap without ca', () => {
  it("takes the root of the chain B's MS presents, whose fingerprint is B's server root", async () => {
    const info = await b.api('GET', '/api/info');
    const r = await post({
      name: 'Server B',
      address: HOST_B,
      port: msOf(b).port,
      company_id: w.companies.a,
    });

    expect(r.status).toBe(201);
    expect(r.body.data).toEqual({
      id: expect.any(Number),
      name: 'Server B',
      address: HOST_B,
      port: msOf(b).port,
      company_id: w.companies.a,
      ca_fingerprint: info.body.data.server_root_fingerprint,
      on_failure: 'home',
      co_located: false,
    });
    const stored = await w.d.deployment.repo.getManagementServer(r.body.data.id);
    expect(new X509Certificate(stored?.caPem ?? '').raw).toEqual(
      new X509Certificate(b.serverRoot).raw,
    );
    const audit = await auditOf(`management-server:${r.body.data.id}`);
    expect(audit.map((e) => [e.actor, e.action])).toEqual([
      ['dm-admin@example.com', 'management-server.create'],
    ]);
    expect(audit[0]?.detail).toMatchObject({ anchor: 'presented by the MS' });
  });

  it('answers 409 with the existing id for the same address and port, storing nothing', async () => {
    const [existing] = await w.d.deployment.repo.listManagementServers({ address: HOST_B });
    const r = await post({
      name: 'again',
      address: HOST_B,
      port: msOf(b).port,
      company_id: w.companies.a,
    });

    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({
      success: false,
      code: 'MANAGEMENT_SERVER_EXISTS',
      details: { id: existing?.id },
    });
    expect(r.body.message).toContain(`id ${existing?.id}`);
    expect(await w.d.deployment.repo.listManagementServers({ address: HOST_B })).toHaveLength(1);
  });

  it("answers 409 with id 0 for this deployment's own MS", async () => {
    const r = await post({
      name: 'myself',
      address: HOST_A,
      port: msOf(w.d).port,
      company_id: w.companies.a,
    });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'MANAGEMENT_SERVER_EXISTS', details: { id: 0 } });
  });

  it('answers 502 for a closed port, saying what failed, and stores nothing', async () => {
    const before = (await w.d.deployment.repo.listAudit({ limit: 1 }))[0]?.id;
    const port = await closedPort();
    const r = await post({
      name: 'Nobody home',
      address: HOST_TLS,
      port,
      company_id: w.companies.a,
    });

    expect(r.status).toBe(502);
    expect(r.body.code).toBe('MANAGEMENT_SERVER_UNREACHABLE');
    expect(r.body.message).toContain(`${HOST_TLS}:${port}`);
    expect(r.body.message).toContain('ECONNREFUSED');
    expect(await w.d.deployment.repo.listManagementServers({ address: HOST_TLS })).toEqual([]);
    expect((await w.d.deployment.repo.listAudit({ limit: 1 }))[0]?.id).toBe(before);
  });

  it('answers 502 for an MS whose certificate does not name the address', async () => {
    const tls = await issueServerCertificate(issuing, {
      commonName: 'Elsewhere',
      hosts: ['127.0.0.86', 'ms.elsewhere.example'],
      validityDays: 30,
    });
    const port = await presenting(tls.chainPem, tls.keyPem);
    const r = await post({
      name: 'Wrong name',
      address: HOST_TLS,
      port,
      company_id: w.companies.a,
    });

    expect(r.status).toBe(502);
    expect(r.body.code).toBe('MANAGEMENT_SERVER_CHAIN_INVALID');
    expect(r.body.message).toContain(`does not name ${HOST_TLS}`);
  });

  it('answers 502 for an MS that presents no self-signed root', async () => {
    const tls = await issueServerCertificate(issuing, {
      commonName: 'No root',
      hosts: [HOST_TLS],
      validityDays: 30,
    });
    const port = await presenting(tls.certPem + toPemBundle([issuing.cert]), tls.keyPem);
    const r = await post({ name: 'No root', address: HOST_TLS, port, company_id: w.companies.a });

    expect(r.status).toBe(502);
    expect(r.body.code).toBe('MANAGEMENT_SERVER_CHAIN_INVALID');
    expect(r.body.message).toContain('no self-signed root');
    expect(r.body.message).toContain('Test MS Issuing');
  });
});

describe('POST /api/bootstrap with ca', () => {
  it('stores a self-signed root for a host name without connecting anywhere', async () => {
    const r = await post({
      name: 'Lab',
      address: 'MS.Lab.Example',
      port: 8883,
      company_id: w.companies.a,
      ca: selfSignedCa,
      on_failure: 'retry',
    });

    expect(r.status).toBe(201);
    expect(r.body.data).toMatchObject({
      address: 'ms.lab.example',
      on_failure: 'retry',
      ca_fingerprint: new X509Certificate(selfSignedCa).fingerprint256
        .replace(/:/g, '')
        .toLowerCase(),
    });
  });

  it('refuses a certificate that is not self-signed, and text that is not PEM', async () => {
    const json = { name: 'x', address: 'ms2.lab.example', port: 8883, company_id: w.companies.a };
    const notRoot = await post({ ...json, ca: notSelfSigned });
    expect(notRoot.status).toBe(400);
    expect(notRoot.body.code).toBe('ANCHOR_INVALID');
    expect(notRoot.body.message).toContain('not self-signed');

    const garbage = await post({ ...json, ca: 'hello' });
    expect(garbage.status).toBe(400);
    expect(garbage.body.code).toBe('PEM_INVALID');
    expect(garbage.body.message).toContain("'ca'");
  });
});

describe('POST /api/bootstrap, refused', () => {
  const valid = () => ({
    name: 'x',
    address: 'ms3.lab.example',
    port: 8883,
    company_id: w.companies.a,
    ca: selfSignedCa,
  });

  it('needs AdmDMServer in company_id, and names it', async () => {
    const viewer = await post(valid(), dmViewer.token);
    const other = await post(valid(), outsider.token);
    for (const r of [viewer, other]) {
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('PERMISSION_NOT_HELD');
      expect(r.body.message).toContain('AdmDMServer');
    }
  });

  it('lets only a SysAdmin define a server of no company', async () => {
    const r = await post({ ...valid(), company_id: null });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('SysAdmin');
    expect(r.body.message).toContain('company_id');
  });

  it('validates port, address, on_failure and unknown fields', async () => {
    const cases: [object, string][] = [
      [{ port: 0 }, 'VALIDATION'],
      [{ port: 65536 }, 'VALIDATION'],
      [{ address: 'not a host!' }, 'MANAGEMENT_SERVER_ADDRESS_INVALID'],
      [{ address: '*.lab.example' }, 'MANAGEMENT_SERVER_ADDRESS_INVALID'],
      [{ on_failure: 'sometimes' }, 'VALIDATION'],
      [{ colour: 'blue' }, 'VALIDATION'],
    ];
    for (const [change, code] of cases) {
      const r = await post({ ...valid(), ...change });
      expect(r.status, JSON.stringify(change)).toBe(400);
      expect(r.body.code).toBe(code);
    }
  });
});

describe('GET /api/bootstrap', () => {
  it('lists the co-located MS first as id 0, then the definitions the caller may read', async () => {
    const r = await w.d.api('GET', '/api/bootstrap', { token: dmViewer.token });

    expect(r.status).toBe(200);
    expect(r.body.data[0]).toEqual({
      id: 0,
      name: w.d.deployment.info.name,
      address: HOST_A,
      port: msOf(w.d).port,
      company_id: null,
      ca_fingerprint: w.d.deployment.info.serverRootFingerprint,
      on_failure: 'retry',
      co_located: true,
    });
    expect(r.body.total_items).toBe(r.body.data.length);
    expect(
      r.body.data.slice(1).every((s: { company_id: number }) => s.company_id === w.companies.a),
    ).toBe(true);
  });

  it('finds a definition by Address, and its own MS by its address', async () => {
    const b1 = await w.d.api('GET', `/api/bootstrap?Address=${HOST_B}`, { token: adm.token });
    expect(b1.body.data.map((s: { name: string }) => s.name)).toEqual(['Server B']);

    const own = await w.d.api('GET', `/api/bootstrap?Address=${HOST_A}&Port=${msOf(w.d).port}`, {
      token: adm.token,
    });
    expect(own.body.data.map((s: { id: number }) => s.id)).toEqual([0]);

    const none = await w.d.api('GET', '/api/bootstrap?Name=nothing-like-this', {
      token: adm.token,
    });
    expect(none.body).toMatchObject({ data: [], total_items: 0 });
  });

  it('hides definitions of other companies, and refuses a caller without the permissions', async () => {
    const other = await w.d.api('GET', '/api/bootstrap', { token: outsider.token });
    expect(other.body.data.map((s: { id: number }) => s.id)).toEqual([0]);

    const r = await w.d.api('GET', '/api/bootstrap', { token: w.users.nobody.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('ViewDMServer or AdmDMServer');
  });
});

describe('GET, PUT and DELETE /api/bootstrap/{id}', () => {
  let id: number;
  beforeAll(async () => {
    const r = await post({
      name: 'Temporary',
      address: 'tmp.lab.example',
      port: 8883,
      company_id: w.companies.a,
      ca: selfSignedCa,
    });
    id = r.body.data.id;
  });

  it('reads one definition, and the co-located one as id 0', async () => {
    const r = await w.d.api('GET', `/api/bootstrap/${id}`, { token: dmViewer.token });
    expect(r.body.data).toMatchObject({ id, name: 'Temporary', co_located: false });
    const own = await w.d.api('GET', '/api/bootstrap/0', { token: dmViewer.token });
    expect(own.body.data).toMatchObject({ id: 0, co_located: true });

    const other = await w.d.api('GET', `/api/bootstrap/${id}`, { token: outsider.token });
    expect(other.status).toBe(403);
    expect(other.body.message).toContain('ViewDMServer or AdmDMServer');
    expect((await w.d.api('GET', '/api/bootstrap/9999', { token: adm.token })).status).toBe(404);
  });

  it('replaces a definition, audited with what it was', async () => {
    const json = {
      name: 'Renamed',
      address: 'tmp.lab.example',
      port: 18883,
      company_id: w.companies.a,
      ca: selfSignedCa,
      on_failure: 'retry',
    };
    const refused = await w.d.api('PUT', `/api/bootstrap/${id}`, { token: dmViewer.token, json });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain('AdmDMServer');

    const r = await w.d.api('PUT', `/api/bootstrap/${id}`, { token: adm.token, json });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ id, name: 'Renamed', port: 18883, on_failure: 'retry' });
    const [entry] = await auditOf(`management-server:${id}`);
    expect(entry).toMatchObject({
      action: 'management-server.update',
      detail: { port: 18883, before: { port: 8883, name: 'Temporary' } },
    });

    const clash = await w.d.api('PUT', `/api/bootstrap/${id}`, {
      token: w.admin,
      json: { ...json, address: HOST_B, port: msOf(b).port },
    });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('MANAGEMENT_SERVER_EXISTS');
  });

  it('refuses to change or delete the co-located MS', async () => {
    const json = { name: 'x', address: HOST_A, port: 1, ca: selfSignedCa };
    const put = await w.d.api('PUT', '/api/bootstrap/0', { token: w.admin, json });
    const del = await w.d.api('DELETE', '/api/bootstrap/0', { token: w.admin });
    for (const r of [put, del]) {
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('MANAGEMENT_SERVER_READ_ONLY');
    }
  });

  it('refuses to delete a definition devices are assigned to, saying how many', async () => {
    const mac = '00:0A:14:81:DD:01';
    await w.d.deployment.repo.createDevice({ mac, alias: 'x', serialNumber: 'y' });
    await w.d.deployment.repo.setDeviceManagementServer(mac, id);

    const r = await w.d.api('DELETE', `/api/bootstrap/${id}`, { token: adm.token });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'MANAGEMENT_SERVER_IN_USE', details: { devices: 1 } });
    expect(r.body.message).toContain('1 device is assigned');

    await w.d.deployment.repo.setDeviceManagementServer(mac, null);
    const viewer = await w.d.api('DELETE', `/api/bootstrap/${id}`, { token: dmViewer.token });
    expect(viewer.status).toBe(403);
    const deleted = await w.d.api('DELETE', `/api/bootstrap/${id}`, { token: adm.token });
    expect(deleted.status).toBe(200);
    expect((await auditOf(`management-server:${id}`))[0]?.action).toBe('management-server.delete');
    expect((await w.d.api('GET', `/api/bootstrap/${id}`, { token: adm.token })).status).toBe(404);
  });
});
