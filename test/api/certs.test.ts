import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createIssuingCa,
  createRootCa,
  exportPrivateKeyPem,
  fingerprint256,
  issueServerCertificate,
  toPemBundle,
  type Issuer,
} from '../../src/pki/index.js';
import { addUser, makeWorld, requestWithHeaders, type World } from './fixtures.js';

let w: World;
let dmViewer: { id: number; token: string };
let newRoot: Issuer;
let newIssuing: Issuer;
let impostorRoot: Issuer;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

/** The subjects' common names in a base64 bundle, in order. */
function commonNames(certs: string): string[] {
  const pems = unb64(certs).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
  return (pems ?? []).map((pem) => /CN=(.+)/.exec(new NodeX509Certificate(pem).subject)?.[1] ?? '');
}

async function read(path: string) {
  const r = await w.d.api('GET', path, { token: w.admin });
  expect(r.status).toBe(200);
  return { certs: r.body.data.certs as string, etag: r.headers.etag as string };
}

function put(path: string, certs: string, headers: Record<string, string> = {}, token = w.admin) {
  return requestWithHeaders(w.d, 'PUT', path, { token, json: { certs }, headers });
}

beforeAll(async () => {
  w = await makeWorld({ host: '127.0.0.32' });
  dmViewer = await addUser(w, 'dm-viewer', w.companies.a, ['ViewDMServer']);
  newRoot = await createRootCa({ commonName: 'Server 0 Device Root CA', validityDays: 30 });
  newIssuing = await createIssuingCa(newRoot, {
    commonName: 'Server 0 Device Issuing CA',
    validityDays: 30,
  });
  // Same name as the new root, another key: names chain, signatures do not.
  impostorRoot = await createRootCa({ commonName: 'Server 0 Device Root CA', validityDays: 30 });
});
afterAll(async () => {
  await w?.d.stop();
});

describe('GET /api/certs', () => {
  it("answers the MS trust store, the deployment's device CAs, with a strong ETag", async () => {
    const r = await w.d.api('GET', '/api/certs', { token: dmViewer.token });
    expect(r.status).toBe(200);
    expect(r.body.success).toBe(true);
    expect(commonNames(r.body.data.certs)).toHaveLength(2);
    expect(r.headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
    const { pki } = w.d.deployment;
    expect(unb64(r.body.data.certs)).toContain(toPemBundle([pki.deviceRoot.cert]).trim());
  });

  it('refuses a user without ViewDMServer', async () => {
    const r = await w.d.api('GET', '/api/certs', { token: w.users.viewer.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('ViewDMServer');
  });
});

describe('PUT /api/certs, refused', () => {
  let before: { certs: string; etag: string };
  beforeAll(async () => {
    before = await read('/api/certs');
  });

  async function expectRefused(
    r: Awaited<ReturnType<typeof put>>,
    status: number,
    code: string,
    words: string,
  ) {
    expect(r.status).toBe(status);
    expect(r.body).toMatchObject({ success: false, code });
    expect(r.body.message).toContain(words);
    expect(await read('/api/certs')).toEqual(before);
  }

  it('refuses a caller who is not a SysAdmin', async () => {
    await expectRefused(
      await put('/api/certs', before.certs, {}, dmViewer.token),
      403,
      'FORBIDDEN',
      'SysAdmin',
    );
  });

  it('refuses text that is not base64', async () => {
    await expectRefused(
      await put('/api/certs', 'not*base64!'),
      400,
      'TRUST_STORE_INVALID',
      'not base64',
    );
    const pem = unb64(before.certs);
    await expectRefused(await put('/api/certs', pem), 400, 'TRUST_STORE_INVALID', 'looks like PEM');
  });

  it('refuses a bundle holding a private key, naming the block', async () => {
    const keyPem = await exportPrivateKeyPem(newRoot.key);
    const r = await put('/api/certs', b64(unb64(before.certs) + keyPem));
    await expectRefused(r, 400, 'TRUST_STORE_INVALID', 'block 3');
    expect(r.body.message).toContain('PRIVATE KEY');
    expect(r.body.message).not.toContain(keyPem.split('\n')[1]);
  });

  it('refuses a leaf certificate, which is no CA', async () => {
    const leaf = await issueServerCertificate(newIssuing, {
      commonName: 'leaf.example',
      hosts: ['leaf.example'],
      validityDays: 30,
    });
    const bundle = unb64(before.certs) + toPemBundle([leaf.cert, ...newIssuing.chain]);
    const r = await put('/api/certs', b64(bundle));
    await expectRefused(r, 400, 'TRUST_STORE_INVALID', 'entry 3');
    expect(r.body.message).toContain('not a CA certificate');
  });

  it('refuses an intermediate whose root is missing, or only impersonated', async () => {
    const alone = b64(unb64(before.certs) + toPemBundle([newIssuing.cert]));
    const r = await put('/api/certs', alone);
    await expectRefused(r, 400, 'TRUST_STORE_INVALID', 'does not chain to a root');
    expect(r.body.message).toContain('Server 0 Device Root CA');

    const impostor = b64(unb64(before.certs) + toPemBundle([newIssuing.cert, impostorRoot.cert]));
    await expectRefused(await put('/api/certs', impostor), 400, 'TRUST_STORE_INVALID', 'entry 3');
  });

  it("refuses to drop the deployment's own device root without force", async () => {
    const bundle = b64(toPemBundle(newIssuing.chain));
    const r = await put('/api/certs', bundle);
    await expectRefused(r, 409, 'DEVICE_ROOT_REMOVAL', 'force=true');
    expect(r.body.message).toContain(fingerprint256(w.d.deployment.pki.deviceRoot.cert));
  });

  it('answers 412 when If-Match is not the current ETag', async () => {
    const bundle = b64(unb64(before.certs) + toPemBundle(newIssuing.chain));
    const stale = `"${'0'.repeat(64)}"`;
    await expectRefused(
      await put('/api/certs', bundle, { 'if-match': stale }),
      412,
      'PRECONDITION_FAILED',
      'changed since',
    );
    const weak = `W/${before.etag}`;
    await expectRefused(
      await put('/api/certs', bundle, { 'if-match': weak }),
      412,
      'PRECONDITION_FAILED',
      'If-Match',
    );
  });
});

describe('PUT /api/certs, accepted', () => {
  it('adds a new root and intermediate under If-Match, dropping repeats', async () => {
    const before = await read('/api/certs');
    const added = toPemBundle(newIssuing.chain);
    const bundle = b64(unb64(before.certs) + added + added);
    const r = await put('/api/certs', bundle, { 'if-match': before.etag });
    expect(r.status).toBe(200);
    expect(commonNames(r.body.data.certs).slice(2)).toEqual([
      'Server 0 Device Issuing CA',
      'Server 0 Device Root CA',
    ]);

    const after = await read('/api/certs');
    expect(after.certs).toBe(r.body.data.certs);
    expect(after.etag).toBe(r.headers.etag);
    expect(after.etag).not.toBe(before.etag);
    const audit = await w.d.deployment.repo.listAudit({ subject: 'trust:management', limit: 1 });
    expect(audit[0]?.detail).toMatchObject({
      added: [fingerprint256(newIssuing.cert), fingerprint256(newRoot.cert)],
      removed: [],
      count: 4,
    });
  });

  it('takes If-Match: * and, with force=true, a bundle without the device root', async () => {
    const before = await read('/api/certs');
    const r = await put('/api/certs?force=true', b64(toPemBundle(newIssuing.chain)), {
      'if-match': '*',
    });
    expect(r.status).toBe(200);
    expect(commonNames((await read('/api/certs')).certs)).toHaveLength(2);

    const restored = await put('/api/certs', before.certs);
    expect(restored.status).toBe(200);
    expect((await read('/api/certs')).etag).toBe(before.etag);
  });
});

describe('/api/manufacturers', () => {
  it('starts empty, and is a SysAdmin matter', async () => {
    const { certs, etag } = await read('/api/manufacturers');
    expect(certs).toBe('');
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const r = await w.d.api('GET', '/api/manufacturers', { token: dmViewer.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('SysAdmin');
    const refused = await put(
      '/api/manufacturers',
      b64(toPemBundle([newRoot.cert])),
      {},
      dmViewer.token,
    );
    expect(refused.status).toBe(403);
  });

  it('replaces the list with CA certificates only, honouring If-Match', async () => {
    const before = await read('/api/manufacturers');
    const leaf = await issueServerCertificate(newIssuing, {
      commonName: 'factory.example',
      hosts: ['factory.example'],
      validityDays: 30,
    });
    const bad = await put('/api/manufacturers', b64(toPemBundle([leaf.cert])));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('not a CA certificate');

    const bundle = b64(toPemBundle([newIssuing.cert]));
    const stale = await put('/api/manufacturers', bundle, { 'if-match': '"stale"' });
    expect(stale.status).toBe(412);
    expect(await read('/api/manufacturers')).toEqual(before);

    const r = await put('/api/manufacturers', bundle, { 'if-match': before.etag });
    expect(r.status).toBe(200);
    const after = await read('/api/manufacturers');
    expect(commonNames(after.certs)).toEqual(['Server 0 Device Issuing CA']);
    expect(after.etag).not.toBe(before.etag);
  });
});
