import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestDeployment, type TestDeployment } from '../helpers/deployment.js';

let d: TestDeployment;
beforeAll(async () => {
  d = await startTestDeployment();
});
afterAll(async () => {
  await d?.stop();
});

const token = (form: Record<string, string>) =>
  d.api('POST', '/public/auth/connect/token', { form });

describe('POST /public/auth/connect/token', () => {
  it('gives the admin a signed two-hour bearer token', async () => {
    const r = await token({
      username: 'admin',
      password: ADMIN_PASSWORD,
      grant_type: 'password',
      client_id: 'python',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: 7200 });
    expect(decodeProtectedHeader(r.body.access_token).alg).toBe('ES256');
    const claims = decodeJwt(r.body.access_token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(7200);
  });

  it('answers a wrong password and an unknown user alike: 400 invalid_grant', async () => {
    const wrong = await token({ username: 'admin', password: 'nope', grant_type: 'password' });
    const unknown = await token({ username: 'ghost', password: 'nope', grant_type: 'password' });
    for (const r of [wrong, unknown]) {
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: 'invalid_grant', success: false });
    }
    expect(wrong.body.error_description).toBe(unknown.body.error_description);
  });

  it('refuses other grant types and names a missing field', async () => {
    const grant = await token({
      username: 'admin',
      password: 'x',
      grant_type: 'client_credentials',
    });
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe('unsupported_grant_type');
    const missing = await token({ username: 'admin', grant_type: 'password' });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain("'password'");
  });

  it('throttles repeated failures for one user from one address, then still refuses', async () => {
    const attempt = () =>
      token({ username: 'target@example.com', password: 'guess', grant_type: 'password' });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await attempt()).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400]);
    const r = await attempt();
    expect(r.status).toBe(429);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    // Another user from the same address is not held back.
    const other = await token({
      username: 'admin',
      password: ADMIN_PASSWORD,
      grant_type: 'password',
    });
    expect(other.status).toBe(200);
  });

  it('does not accept a token from another deployment', async () => {
    const other = await startTestDeployment({ host: '127.0.0.2' });
    try {
      const foreign = await other.login('admin', ADMIN_PASSWORD);
      const r = await d.api('GET', '/api/companies', { token: foreign });
      expect(r.status).toBe(401);
    } finally {
      await other.stop();
    }
  });
});

describe('public routes', () => {
  it('GET /api/info needs no token and names every service and the root fingerprint', async () => {
    const r = await d.api('GET', '/api/info');
    expect(r.status).toBe(200);
    const info = r.body.data;
    expect(Object.keys(info.services).sort()).toEqual([
      'api',
      'bootstrap',
      'content',
      'management',
    ]);
    expect(info.services.management.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(info.server_root_fingerprint).toBe(d.deployment.pki.serverRootFingerprint);
    expect(info.server_root_fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await d.api('GET', '/api/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/api/companies', '/api/users/{id}/companies', '/api/info']),
    );
    const ui = await d.api('GET', '/api/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });

  it('answers an unknown route with 404 in the envelope', async () => {
    const r = await d.api('GET', '/api/nothing-here', { token: 'x' });
    expect([401, 404]).toContain(r.status);
    const open = await d.api('GET', '/nothing');
    expect(open.status).toBe(404);
    expect(open.body).toMatchObject({ success: false, code: 'ROUTE_NOT_FOUND' });
  });
});
