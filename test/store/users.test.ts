import { describe, expect, it } from 'vitest';

import type { NewUser, Repository } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';

function newUser(email: string, extra: Partial<NewUser> = {}): NewUser {
  return {
    email,
    firstName: 'Jana',
    lastName: 'Nováková',
    passwordHash: 'scrypt$not-a-real-hash',
    isSysAdmin: false,
    ...extra,
  };
}

async function seedCompanies(repo: Repository, ...names: string[]) {
  return Promise.all(names.map((name) => repo.createCompany({ name })));
}

describe.each(backends)('users on $name', (backend) => {
  const store = useStore(backend);

  it('a second user whose e-mail differs only in case is refused with USER_EXISTS', async () => {
    await store.repo.createUser(newUser('jana@example.com'));

    const second = store.repo.createUser(newUser('Jana@Example.COM'));

    await expect(second).rejects.toMatchObject({ code: 'USER_EXISTS', status: 409 });
    expect(await store.repo.countUsers()).toBe(1);
  });

  it('the e-mail address is stored lowercased and found in any case', async () => {
    const created = await store.repo.createUser(newUser('Admin@Example.com', { isSysAdmin: true }));

    expect(created).toMatchObject({ email: 'admin@example.com', isSysAdmin: true });
    expect(await store.repo.getUserByEmail('ADMIN@example.com')).toEqual(created);
    expect(await store.repo.getUser(created.id)).toEqual(created);
    expect(await store.repo.getUser(created.id + 1)).toBeUndefined();
    expect(await store.repo.getUserByEmail('nobody@example.com')).toBeUndefined();
  });

  it('the password hash leaves the store only through getCredentials', async () => {
    const user = await store.repo.createUser(newUser('jana@example.com'));

    await store.repo.setPasswordHash(user.id, 'scrypt$new');

    expect(Object.keys(user)).not.toContain('passwordHash');
    expect(JSON.stringify(await store.repo.getUser(user.id))).not.toContain('scrypt');
    expect(await store.repo.getCredentials('JANA@example.com')).toEqual({
      userId: user.id,
      passwordHash: 'scrypt$new',
    });
    expect(await store.repo.getCredentials('nobody@example.com')).toBeUndefined();
  });

  it('setting the password of an unknown user is USER_NOT_FOUND', async () => {
    await expect(store.repo.setPasswordHash(7, 'x')).rejects.toMatchObject({
      code: 'USER_NOT_FOUND',
    });
  });

  it('users are filtered by exact e-mail, by search text and by company', async () => {
    const [acme, globex] = await seedCompanies(store.repo, 'Acme', 'Globex');
    const jana = await store.repo.createUser(newUser('jana@acme.example'));
    const petr = await store.repo.createUser(
      newUser('petr@globex.example', { lastName: 'Dvořák' }),
    );
    const eva = await store.repo.createUser(newUser('eva@example.com', { firstName: 'Eva' }));
    await store.repo.setMemberships(jana.id, [{ companyId: acme.id, permissions: [] }]);
    await store.repo.setMemberships(petr.id, [{ companyId: globex.id, permissions: [] }]);
    const list = (query: object) => store.repo.listUsers({ page: 1, pageSize: 10, ...query });

    expect(await list({ email: 'JANA@acme.example' })).toEqual({ items: [jana], total: 1 });
    expect(await list({ email: 'jana@acme' })).toEqual({ items: [], total: 0 });
    expect(await list({ search: 'EXAMPLE.COM' })).toEqual({ items: [eva], total: 1 });
    expect(await list({ search: 'dvoř' })).toEqual({ items: [petr], total: 1 });
    expect(await list({ companyIds: [acme.id, globex.id] })).toEqual({
      items: [jana, petr],
      total: 2,
    });
    expect(await list({ companyIds: [] })).toEqual({ items: [], total: 0 });
    expect(await list({ search: 'a', companyIds: [globex.id] })).toEqual({
      items: [petr],
      total: 1,
    });
  });

  it('users are listed page by page with the total of all matches', async () => {
    for (let i = 1; i <= 5; i += 1) await store.repo.createUser(newUser(`u${i}@example.com`));

    const second = await store.repo.listUsers({ page: 2, pageSize: 2 });

    expect(second.total).toBe(5);
    expect(second.items.map((u) => u.email)).toEqual(['u3@example.com', 'u4@example.com']);
  });

  it('memberships are replaced as a whole and read back in company order', async () => {
    const [acme, globex, initech] = await seedCompanies(store.repo, 'Acme', 'Globex', 'Initech');
    const user = await store.repo.createUser(newUser('jana@example.com'));
    await store.repo.setMemberships(user.id, [
      { companyId: acme.id, permissions: ['ViewUsers'] },
      { companyId: globex.id, permissions: ['ViewUsers'] },
    ]);

    const replaced = await store.repo.setMemberships(user.id, [
      { companyId: initech.id, permissions: ['EditUser', 'ViewUsers'] },
      { companyId: acme.id, permissions: [] },
    ]);

    expect(replaced).toEqual([
      { companyId: acme.id, companyName: 'Acme', permissions: [] },
      { companyId: initech.id, companyName: 'Initech', permissions: ['EditUser', 'ViewUsers'] },
    ]);
    expect(await store.repo.getMemberships(user.id)).toEqual(replaced);
    expect(await store.repo.setMemberships(user.id, [])).toEqual([]);
  });

  it('a replacement naming an unknown company fails and leaves the old memberships intact', async () => {
    const [acme, globex] = await seedCompanies(store.repo, 'Acme', 'Globex');
    const user = await store.repo.createUser(newUser('jana@example.com'));
    const before = await store.repo.setMemberships(user.id, [
      { companyId: acme.id, permissions: ['ViewUsers'] },
    ]);

    const failing = store.repo.setMemberships(user.id, [
      { companyId: globex.id, permissions: ['ViewUsers'] },
      { companyId: 9999, permissions: ['ViewUsers'] },
    ]);

    await expect(failing).rejects.toMatchObject({ code: 'COMPANY_NOT_FOUND' });
    await expect(failing).rejects.toThrow(/company 9999 does not exist/);
    expect(await store.repo.getMemberships(user.id)).toEqual(before);
  });

  it('a replacement listing a company twice, or for an unknown user, is refused', async () => {
    const [acme] = await seedCompanies(store.repo, 'Acme');
    const user = await store.repo.createUser(newUser('jana@example.com'));
    const grant = { companyId: acme.id, permissions: [] };

    await expect(store.repo.setMemberships(user.id, [grant, grant])).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await expect(store.repo.setMemberships(user.id + 1, [grant])).rejects.toMatchObject({
      code: 'USER_NOT_FOUND',
    });
    expect(await store.repo.getMemberships(user.id)).toEqual([]);
  });
});
