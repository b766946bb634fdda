import { describe, expect, it } from 'vitest';

import { backends, useStore } from './backends.js';

describe.each(backends)('companies on $name', (backend) => {
  const store = useStore(backend);

  it('a second company with the same name is refused with COMPANY_EXISTS (409)', async () => {
    await store.repo.createCompany({ name: 'Acme' });

    const second = store.repo.createCompany({ name: 'Acme', contactName: 'Someone else' });

    await expect(second).rejects.toMatchObject({ code: 'COMPANY_EXISTS', status: 409 });
    expect((await store.repo.listCompanies({ page: 1, pageSize: 10 })).total).toBe(1);
  });

  it('a name taken by a transaction still open is refused with COMPANY_EXISTS once it commits', async () => {
    let inserted!: () => void;
    let commit!: () => void;
    const insertedNow = new Promise<void>((resolve) => (inserted = resolve));
    const committing = new Promise<void>((resolve) => (commit = resolve));
    const first = store.repo.transaction(async (tx) => {
      await tx.createCompany({ name: 'Race' });
      inserted();
      await committing;
    });
    await insertedNow;

    // PostgreSQL: the check cannot see the uncommitted row, so the insert waits on the unique
    // index and then fails. SQLite: the single connection waits for the transaction to end.
    const second = store.repo.createCompany({ name: 'Race' });
    setTimeout(commit, 50);

    await first;
    const failure: unknown = await second.catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'COMPANY_EXISTS' });
    if (backend.name === 'postgres') expect(failure).toMatchObject({ cause: { code: '23505' } });
  });

  it('a company under a parent that does not exist is refused with COMPANY_NOT_FOUND', async () => {
    const orphan = store.repo.createCompany({ name: 'Orphan', parentId: 999 });

    await expect(orphan).rejects.toMatchObject({ code: 'COMPANY_NOT_FOUND', status: 404 });
    await expect(orphan).rejects.toThrow(/parent company 999/);
  });

  it('a company is read back with every field', async () => {
    const parent = await store.repo.createCompany({ name: 'Acme' });
    const child = await store.repo.createCompany({
      name: 'Acme North',
      contactName: 'Jana Nováková',
      parentId: parent.id,
    });

    expect(await store.repo.getCompany(child.id)).toEqual({
      id: child.id,
      name: 'Acme North',
      contactName: 'Jana Nováková',
      parentId: parent.id,
      createdAt: child.createdAt,
    });
    expect(child.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(parent).toMatchObject({ contactName: null, parentId: null });
    expect(await store.repo.getCompany(999)).toBeUndefined();
  });

  it('companies are listed page by page in id order with the total of all matches', async () => {
    for (let i = 1; i <= 7; i += 1) await store.repo.createCompany({ name: `Company ${i}` });

    const third = await store.repo.listCompanies({ page: 3, pageSize: 3 });
    const beyond = await store.repo.listCompanies({ page: 4, pageSize: 3 });

    expect(third.total).toBe(7);
    expect(third.items.map((c) => c.name)).toEqual(['Company 7']);
    expect(beyond).toEqual({ items: [], total: 7 });
  });

  it('the name filter matches a substring in any case, and wildcards literally', async () => {
    const acme = await store.repo.createCompany({ name: 'ACME Routers' });
    await store.repo.createCompany({ name: 'Globex' });
    const percent = await store.repo.createCompany({ name: '100% Uptime' });

    const byName = await store.repo.listCompanies({ name: 'me rou', page: 1, pageSize: 10 });
    const byPercent = await store.repo.listCompanies({ name: '0%', page: 1, pageSize: 10 });

    expect(byName).toEqual({ items: [acme], total: 1 });
    expect(byPercent).toEqual({ items: [percent], total: 1 });
  });

  it('the ids filter limits the listing, and an empty list matches nothing', async () => {
    const a = await store.repo.createCompany({ name: 'A' });
    await store.repo.createCompany({ name: 'B' });
    const c = await store.repo.createCompany({ name: 'C' });

    const some = await store.repo.listCompanies({ ids: [c.id, a.id], page: 1, pageSize: 10 });
    const none = await store.repo.listCompanies({ ids: [], page: 1, pageSize: 10 });

    expect(some).toEqual({ items: [a, c], total: 2 });
    expect(none).toEqual({ items: [], total: 0 });
  });

  it('paging arguments out of range are refused with a RangeError', async () => {
    const list = (page: number, pageSize: number) => store.repo.listCompanies({ page, pageSize });

    await expect(list(0, 10)).rejects.toThrow(RangeError);
    await expect(list(1.5, 10)).rejects.toThrow(/page must be an integer/);
    await expect(list(1, 0)).rejects.toThrow(RangeError);
    await expect(list(1, 1001)).rejects.toThrow(/pageSize must be an integer from 1 to 1000/);
    await expect(store.repo.listUsers({ page: 1, pageSize: -1 })).rejects.toThrow(RangeError);
    await expect(store.repo.listAudit({ limit: 0 })).rejects.toThrow(RangeError);
    expect((await list(1, 1000)).total).toBe(0);
  });

  it('ancestors run up to the top and descendants down the tree, both from the company itself', async () => {
    const root = await store.repo.createCompany({ name: 'Root' });
    const left = await store.repo.createCompany({ name: 'Left', parentId: root.id });
    const right = await store.repo.createCompany({ name: 'Right', parentId: root.id });
    const leaf = await store.repo.createCompany({ name: 'Leaf', parentId: left.id });
    const other = await store.repo.createCompany({ name: 'Other' });

    expect(await store.repo.companyAncestors(leaf.id)).toEqual([leaf.id, left.id, root.id]);
    expect(await store.repo.companyAncestors(root.id)).toEqual([root.id]);
    expect(await store.repo.companyDescendants(root.id)).toEqual([
      root.id,
      left.id,
      right.id,
      leaf.id,
    ]);
    expect(await store.repo.companyDescendants(left.id)).toEqual([left.id, leaf.id]);
    expect(await store.repo.companyDescendants(other.id)).toEqual([other.id]);
  });

  it('ancestors or descendants of an unknown company are COMPANY_NOT_FOUND', async () => {
    await expect(store.repo.companyAncestors(42)).rejects.toMatchObject({
      code: 'COMPANY_NOT_FOUND',
    });
    await expect(store.repo.companyDescendants(42)).rejects.toMatchObject({
      code: 'COMPANY_NOT_FOUND',
    });
  });
});
