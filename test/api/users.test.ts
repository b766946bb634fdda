import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, makeWorld, type World } from './fixtures.js';

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});
afterAll(async () => {
  await w?.d.stop();
});

const newUser = (email: string, companies?: unknown) => ({
  email,
  first_name: 'New',
  last_name: 'User',
  password: PASSWORD,
  ...(companies !== undefined && { companies }),
});

describe('GET /api/users', () => {
  it('lists the users of a viewer’s companies, and finds one by email', async () => {
    const r = await w.d.api('GET', '/api/users', { token: w.users.viewer.token });
    expect(r.status).toBe(200);
    const emails = r.body.data.map((u: { email: string }) => u.email);
    expect(emails).toEqual(['viewer@example.com', 'manager@example.com']);
    const one = await w.d.api('GET', '/api/users?email=MANAGER@example.com', { token: w.admin });
    expect(one.body.total_items).toBe(1);
    expect(one.body.data[0].companies[0]).toMatchObject({
      company: { id: w.companies.a, name: 'Company A' },
    });
  });

  it('refuses a user without ViewUsers', async () => {
    const r = await w.d.api('GET', '/api/users', { token: w.users.nobody.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('ViewUsers');
  });
});

describe('GET /api/users/{id}', () => {
  it('lets anyone read themselves and a viewer read a colleague', async () => {
    const self = await w.d.api('GET', `/api/users/${w.users.nobody.id}`, {
      token: w.users.nobody.token,
    });
    expect(self.status).toBe(200);
    expect(self.body.data).not.toHaveProperty('password_hash');
    const colleague = await w.d.api('GET', `/api/users/${w.users.manager.id}`, {
      token: w.users.viewer.token,
    });
    expect(colleague.status).toBe(200);
  });

  it('refuses a user reading someone outside their companies', async () => {
    const r = await w.d.api('GET', `/api/users/${w.users.viewer.id}`, {
      token: w.users.nobody.token,
    });
    expect(r.status).toBe(403);
  });
});

describe('POST /api/users', () => {
  it('lets a manager create a user with permissions they hold', async () => {
    const r = await w.d.api('POST', '/api/users', {
      token: w.users.manager.token,
      json: newUser('clerk@example.com', [
        { company: { id: w.companies.a1 }, permissions: ['ViewCompany'] },
      ]),
    });
    expect(r.status).toBe(201);
    expect(r.body.data.companies).toEqual([
      { company: { id: w.companies.a1, name: 'Company A1' }, permissions: ['ViewCompany'] },
    ]);
  });

  it('refuses a manager granting a permission they do not hold', async () => {
    const r = await w.d.api('POST', '/api/users', {
      token: w.users.manager.token,
      json: newUser('admdm@example.com', [
        { company: { id: w.companies.a }, permissions: ['AdmDMServer'] },
      ]),
    });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('AdmDMServer');
    const check = await w.d.api('GET', '/api/users?email=admdm@example.com', { token: w.admin });
    expect(check.body.total_items).toBe(0);
  });

  it('refuses a viewer without CreateUser, and a manager making a SysAdmin', async () => {
    const viewer = await w.d.api('POST', '/api/users', {
      token: w.users.viewer.token,
      json: newUser('v2@example.com', [{ company: { id: w.companies.a }, permissions: [] }]),
    });
    expect(viewer.status).toBe(403);
    expect(viewer.body.message).toContain('CreateUser');
    const sys = await w.d.api('POST', '/api/users', {
      token: w.users.manager.token,
      json: {
        ...newUser('sys@example.com', [{ company: { id: w.companies.a }, permissions: [] }]),
        is_sysadmin: true,
      },
    });
    expect(sys.status).toBe(403);
  });

  it('answers a duplicate email (in any case) with 409', async () => {
    const r = await w.d.api('POST', '/api/users', {
      token: w.admin,
      json: newUser('VIEWER@example.com'),
    });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('USER_EXISTS');
  });

  it('names unknown permission names, bad emails and short passwords', async () => {
    const unknown = await w.d.api('POST', '/api/users', {
      token: w.admin,
      json: newUser('x@example.com', [
        { company: { id: w.companies.a }, permissions: ['FlyPlanes'] },
      ]),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ code: 'UNKNOWN_PERMISSION' });
    expect(unknown.body.message).toContain('FlyPlanes');
    const email = await w.d.api('POST', '/api/users', {
      token: w.admin,
      json: newUser('not-an-email'),
    });
    expect(email.status).toBe(400);
    expect(email.body.message).toContain("'email'");
    const short = await w.d.api('POST', '/api/users', {
      token: w.admin,
      json: { ...newUser('short@example.com'), password: 'short' },
    });
    expect(short.status).toBe(400);
    expect(short.body.message).toContain("'password'");
  });
});

describe('PUT /api/users/{id}/companies', () => {
  it('lets a manager replace a user’s list, in the notebook shape and as a bare list', async () => {
    const path = `/api/users/${w.users.nobody.id}/companies`;
    const r = await w.d.api('PUT', path, {
      token: w.users.manager.token,
      json: {
        id: w.users.nobody.id,
        companies: [{ company: { id: w.companies.a }, permissions: ['ViewCompany'] }],
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.data.companies).toHaveLength(1);
    const bare = await w.d.api('PUT', path, {
      token: w.users.manager.token,
      json: [{ company: { id: w.companies.a1 }, permissions: ['ViewUsers'] }],
    });
    expect(bare.status).toBe(200);
    expect(bare.body.data.companies.map((m: { company: { id: number } }) => m.company.id)).toEqual([
      w.companies.a1,
    ]);
  });

  it('refuses a viewer without EditUser, and changes nothing', async () => {
    const path = `/api/users/${w.users.manager.id}/companies`;
    const r = await w.d.api('PUT', path, { token: w.users.viewer.token, json: { companies: [] } });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('EditUser');
    const after = await w.d.api('GET', `/api/users/${w.users.manager.id}`, { token: w.admin });
    expect(after.body.data.companies).toHaveLength(1);
  });

  it('refuses a manager raising their own permissions', async () => {
    const r = await w.d.api('PUT', `/api/users/${w.users.manager.id}/companies`, {
      token: w.users.manager.token,
      json: { companies: [{ company: { id: w.companies.a }, permissions: ['DeleteCompany'] }] },
    });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('DeleteCompany');
  });

  it('answers 404 for an unknown user or company', async () => {
    const user = await w.d.api('PUT', '/api/users/9999/companies', {
      token: w.admin,
      json: { companies: [] },
    });
    expect(user.status).toBe(404);
    const company = await w.d.api('PUT', `/api/users/${w.users.nobody.id}/companies`, {
      token: w.admin,
      json: { companies: [{ company: { id: 777 }, permissions: [] }] },
    });
    expect(company.status).toBe(404);
    expect(company.body.message).toContain('777');
  });
});
