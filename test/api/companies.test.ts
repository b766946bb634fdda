import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorld, type World } from './fixtures.js';

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});
afterAll(async () => {
  await w?.d.stop();
});

describe('GET /api/companies', () => {
  it('lists every company for a SysAdmin, with total_items', async () => {
    const r = await w.d.api('GET', '/api/companies', { token: w.admin });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, total_items: 3 });
    expect(r.body.data.map((c: { name: string }) => c.name)).toEqual([
      'Company A',
      'Company A1',
      'Company B',
    ]);
  });

  it('shows a viewer the companies below the one they belong to, and no others', async () => {
    const r = await w.d.api('GET', '/api/companies', { token: w.users.viewer.token });
    expect(r.status).toBe(200);
    expect(r.body.data.map((c: { id: number }) => c.id)).toEqual([w.companies.a, w.companies.a1]);
    expect(r.body.data[1].parent).toEqual({ id: w.companies.a, name: 'Company A' });
  });

  it('filters by name', async () => {
    const r = await w.d.api('GET', '/api/companies?name=a1', { token: w.admin });
    expect(r.body.data.map((c: { name: string }) => c.name)).toEqual(['Company A1']);
  });

  it('refuses a user without ViewCompany anywhere', async () => {
    const r = await w.d.api('GET', '/api/companies', { token: w.users.nobody.token });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ success: false, code: 'PERMISSION_NOT_HELD' });
    expect(r.body.message).toContain('ViewCompany');
  });

  it('refuses a caller without a token, and one with a forged token', async () => {
    expect((await w.d.api('GET', '/api/companies')).status).toBe(401);
    const forged = `${w.admin.slice(0, -4)}AAAA`;
    const r = await w.d.api('GET', '/api/companies', { token: forged });
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('UNAUTHENTICATED');
  });

  it('rejects an unknown query parameter and a bad page size', async () => {
    const r = await w.d.api('GET', '/api/companies?colour=red', { token: w.admin });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain("'colour'");
    const r2 = await w.d.api('GET', '/api/companies?pageSize=0', { token: w.admin });
    expect(r2.status).toBe(400);
    expect(r2.body.message).toContain('pageSize');
  });
});

describe('GET /api/companies/{id}', () => {
  it('lets a viewer read a child of their company', async () => {
    const r = await w.d.api('GET', `/api/companies/${w.companies.a1}`, {
      token: w.users.viewer.token,
    });
    expect(r.status).toBe(200);
    expect(r.body.data.name).toBe('Company A1');
  });

  it('refuses a viewer a company outside their tree', async () => {
    const r = await w.d.api('GET', `/api/companies/${w.companies.b}`, {
      token: w.users.viewer.token,
    });
    expect(r.status).toBe(403);
  });

  it('answers 404 for a company that does not exist, and 400 for a bad id', async () => {
    expect((await w.d.api('GET', '/api/companies/9999', { token: w.admin })).status).toBe(404);
    const r = await w.d.api('GET', '/api/companies/abc', { token: w.admin });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('params');
  });
});

describe('POST /api/companies', () => {
  it('lets a SysAdmin create a top-level company', async () => {
    const r = await w.d.api('POST', '/api/companies', { token: w.admin, json: { name: 'Top' } });
    expect(r.status).toBe(201);
    expect(r.body.data).toMatchObject({ name: 'Top', parent: null });
  });

  it('refuses a manager a top-level company but allows one under their company', async () => {
    const top = await w.d.api('POST', '/api/companies', {
      token: w.users.manager.token,
      json: { name: 'Rogue' },
    });
    expect(top.status).toBe(403);
    const child = await w.d.api('POST', '/api/companies', {
      token: w.users.manager.token,
      json: { name: 'A2', parent_id: w.companies.a },
    });
    expect(child.status).toBe(201);
  });

  it('refuses a viewer without CreateCompany', async () => {
    const r = await w.d.api('POST', '/api/companies', {
      token: w.users.viewer.token,
      json: { name: 'A3', parent_id: w.companies.a },
    });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('CreateCompany');
  });

  it('answers 409 for a duplicate name and loses nothing', async () => {
    const r = await w.d.api('POST', '/api/companies', {
      token: w.admin,
      json: { name: 'Company B' },
    });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('COMPANY_EXISTS');
  });

  it('names the field for wrong types, unknown fields, and a missing parent', async () => {
    const wrong = await w.d.api('POST', '/api/companies', { token: w.admin, json: { name: 5 } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toContain("'name'");
    const extra = await w.d.api('POST', '/api/companies', {
      token: w.admin,
      json: { name: 'X', colour: 'red' },
    });
    expect(extra.status).toBe(400);
    expect(extra.body.message).toContain("'colour'");
    const orphan = await w.d.api('POST', '/api/companies', {
      token: w.admin,
      json: { name: 'X', parent_id: 4242 },
    });
    expect(orphan.status).toBe(404);
    expect(orphan.body.message).toContain('parent_id');
  });

  it('answers malformed JSON with 400 and no stack trace', async () => {
    const r = await w.d.api('POST', '/api/companies', {
      token: w.admin,
      raw: { contentType: 'application/json', body: '{"name": ' },
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('MALFORMED_BODY');
    expect(r.text).not.toMatch(/at .*\.(js|ts):\d+/);
  });
});
