import { describe, expect, it } from 'vitest';

import { connect } from '../../src/store/open.js';
import { migrateToLatest } from '../../src/store/migrations.js';
import { backends, useStore } from './backends.js';

describe.each(backends)('the store on $name', (backend) => {
  const store = useStore(backend);

  it('the first migration run applies every migration and a second run applies nothing', async () => {
    const location = await backend.fresh();
    const { db, dialect, schema } = await connect(location.url, location.options);
    try {
      expect(await migrateToLatest(db, dialect, schema)).toEqual([
        '0001_companies_users_audit',
        '0002_devices',
        '0003_management_servers',
      ]);
      expect(await migrateToLatest(db, dialect, schema)).toEqual([]);
    } finally {
      await db.destroy();
      await location.drop();
    }
  });

  it('opening an already migrated store migrates nothing', async () => {
    const { url, options } = store.location;
    const { db, dialect, schema } = await connect(url, options);
    try {
      expect(await migrateToLatest(db, dialect, schema)).toEqual([]);
    } finally {
      await db.destroy();
    }
  });

  it('a transaction that throws leaves nothing behind', async () => {
    const attempt = store.repo.transaction(async (tx) => {
      const company = await tx.createCompany({ name: 'Acme' });
      await tx.transaction(async (inner) => {
        const user = await inner.createUser({
          email: 'jana@example.com',
          firstName: 'Jana',
          lastName: 'Nováková',
          passwordHash: 'h',
          isSysAdmin: false,
        });
        await inner.setMemberships(user.id, [{ companyId: company.id, permissions: [] }]);
      });
      await tx.appendAudit({ actor: 'test', action: 'company.create', subject: 'company:1' });
      await tx.setMeta('name', 'half done');
      throw new Error('step failed');
    });

    await expect(attempt).rejects.toThrow('step failed');
    expect(await store.repo.listCompanies({ page: 1, pageSize: 10 })).toEqual({
      items: [],
      total: 0,
    });
    expect(await store.repo.countUsers()).toBe(0);
    expect(await store.repo.listAudit({ limit: 10 })).toEqual([]);
    expect(await store.repo.getMeta('name')).toBeUndefined();
  });

  it('a transaction that resolves commits everything and returns its result', async () => {
    const id = await store.repo.transaction(async (tx) => {
      const company = await tx.createCompany({ name: 'Acme' });
      await tx.appendAudit({ actor: 'test', action: 'company.create', subject: 'company:1' });
      return company.id;
    });

    expect(await store.repo.getCompany(id)).toMatchObject({ name: 'Acme' });
    expect(await store.repo.listAudit({ limit: 10 })).toHaveLength(1);
  });

  it('ids, counts and totals come back as numbers', async () => {
    const company = await store.repo.createCompany({ name: 'Acme' });
    const child = await store.repo.createCompany({ name: 'Acme North', parentId: company.id });
    const entry = await store.repo.appendAudit({ actor: 'a', action: 'b', subject: 'c' });

    const { total, items } = await store.repo.listCompanies({ page: 1, pageSize: 10 });

    expect(typeof total).toBe('number');
    expect(typeof (await store.repo.countUsers())).toBe('number');
    expect(items.map((c) => typeof c.id)).toEqual(['number', 'number']);
    expect(typeof child.parentId).toBe('number');
    expect(typeof entry.id).toBe('number');
    expect(await store.repo.companyDescendants(company.id)).toEqual([company.id, child.id]);
  });

  it('meta values are inserted, then overwritten', async () => {
    expect(await store.repo.getMeta('deployment_id')).toBeUndefined();

    await store.repo.setMeta('deployment_id', 'one');
    await store.repo.setMeta('deployment_id', 'two');

    expect(await store.repo.getMeta('deployment_id')).toBe('two');
  });

  it('audit entries are listed newest first, limited, and filtered by subject', async () => {
    const detail = { email: 'jana@example.com', memberships: [{ companyId: 1 }] };
    await store.repo.appendAudit({
      actor: 'admin',
      action: 'user.create',
      subject: 'user:1',
      detail,
    });
    await store.repo.appendAudit({
      actor: 'admin',
      action: 'company.create',
      subject: 'company:1',
    });
    await store.repo.appendAudit({ actor: 'admin', action: 'user.companies', subject: 'user:1' });

    const newest = await store.repo.listAudit({ limit: 2 });
    const aboutUser = await store.repo.listAudit({ subject: 'user:1', limit: 10 });

    expect(newest.map((e) => e.action)).toEqual(['user.companies', 'company.create']);
    expect(aboutUser.map((e) => e.action)).toEqual(['user.companies', 'user.create']);
    expect(aboutUser[1]).toMatchObject({ actor: 'admin', detail });
    expect(aboutUser[0]?.detail).toBeNull();
    expect(aboutUser[0]?.at).toMatch(/Z$/);
  });

  it('data survives closing and reopening the store', async () => {
    const company = await store.repo.createCompany({ name: 'Acme' });
    const user = await store.repo.createUser({
      email: 'jana@example.com',
      firstName: 'Jana',
      lastName: 'Nováková',
      passwordHash: 'h',
      isSysAdmin: true,
    });
    await store.repo.setMemberships(user.id, [{ companyId: company.id, permissions: ['X'] }]);
    await store.repo.setMeta('name', 'Server 1');

    const reopened = await store.reopen();

    expect(await reopened.getCompany(company.id)).toEqual(company);
    expect(await reopened.getUser(user.id)).toEqual(user);
    expect(await reopened.getMemberships(user.id)).toHaveLength(1);
    expect(await reopened.getMeta('name')).toBe('Server 1');
    const next = await reopened.createCompany({ name: 'Globex' });
    expect(next.id).toBeGreaterThan(company.id);
  });
});
