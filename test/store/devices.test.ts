import { describe, expect, it } from 'vitest';

import { backends, useStore } from './backends.js';
import { newDevice, seedDevices } from './device-fixtures.js';

const MAC = '00:0A:14:81:22:33';
const T1 = '2025-03-01T10:00:00.000Z';
const T2 = '2025-03-01T11:30:00.000Z';

describe.each(backends)('devices on $name', (backend) => {
  const store = useStore(backend);

  it('a second device with the same MAC is refused with DEVICE_EXISTS (409) naming the MAC', async () => {
    await store.repo.createDevice(newDevice(MAC));

    const second = store.repo.createDevice(newDevice(MAC, { alias: 'Another', serialNumber: 'X' }));

    await expect(second).rejects.toMatchObject({ code: 'DEVICE_EXISTS', status: 409 });
    await expect(second).rejects.toThrow(MAC);
    expect((await store.repo.listDevices({ page: 1, pageSize: 10 })).total).toBe(1);
  });

  it('a MAC taken by a transaction still open is refused with DEVICE_EXISTS once it commits', async () => {
    let inserted!: () => void;
    let commit!: () => void;
    const insertedNow = new Promise<void>((resolve) => (inserted = resolve));
    const committing = new Promise<void>((resolve) => (commit = resolve));
    const first = store.repo.transaction(async (tx) => {
      await tx.createDevice(newDevice(MAC));
      inserted();
      await committing;
    });
    await insertedNow;

    // PostgreSQL: the check cannot see the uncommitted row, so the insert waits on the unique
    // index and then fails. SQLite: the single connection waits for the transaction to end.
    const second = store.repo.createDevice(newDevice(MAC));
    setTimeout(commit, 50);

    await first;
    const failure: unknown = await second.catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'DEVICE_EXISTS' });
    if (backend.name === 'postgres') expect(failure).toMatchObject({ cause: { code: '23505' } });
  });

  it('a device of a company that does not exist is refused with COMPANY_NOT_FOUND', async () => {
    const orphan = store.repo.createDevice(newDevice(MAC, { companyId: 999 }));

    await expect(orphan).rejects.toMatchObject({ code: 'COMPANY_NOT_FOUND', status: 404 });
    await expect(orphan).rejects.toThrow(/company 999/);
    expect(await store.repo.getDevice(MAC)).toBeUndefined();
  });

  it('a device is read back by MAC with every field, offline and never seen', async () => {
    const acme = await store.repo.createCompany({ name: 'Acme' });
    const created = await store.repo.createDevice({
      mac: MAC,
      alias: 'Kitchen router',
      serialNumber: 'HP2025-0001',
      imei: '356938035643809',
      orderCode: 'HP-R1-EU',
      deviceType: 'R1',
      companyId: acme.id,
    });

    expect(await store.repo.getDevice(MAC)).toEqual({
      id: created.id,
      mac: MAC,
      alias: 'Kitchen router',
      serialNumber: 'HP2025-0001',
      imei: '356938035643809',
      orderCode: 'HP-R1-EU',
      deviceType: 'R1',
      companyId: acme.id,
      createdAt: created.createdAt,
      isOnline: false,
      lastSeen: null,
      bootstrapServerUri: null,
      managementServerId: null,
    });
    expect(typeof created.id).toBe('number');
    expect(created.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await store.repo.getDevice('00:0A:14:81:22:34')).toBeUndefined();
  });

  it('optional fields left out are stored as null', async () => {
    const created = await store.repo.createDevice(newDevice(MAC));

    expect(created).toMatchObject({ imei: null, orderCode: null, deviceType: null });
    expect(created.companyId).toBeNull();
  });

  it('devices are listed page by page in id order with the total of all matches', async () => {
    const all = await seedDevices(
      store.repo,
      ...[1, 2, 3, 4, 5].map((i) => newDevice(`00:0A:14:81:22:0${i}`)),
    );

    const second = await store.repo.listDevices({ page: 2, pageSize: 2 });
    const beyond = await store.repo.listDevices({ page: 4, pageSize: 2 });

    expect(second).toEqual({ items: [all[2], all[3]], total: 5 });
    expect(typeof second.total).toBe('number');
    expect(beyond).toEqual({ items: [], total: 5 });
    await expect(store.repo.listDevices({ page: 0, pageSize: 2 })).rejects.toThrow(RangeError);
    await expect(store.repo.listDevices({ page: 1, pageSize: 1001 })).rejects.toThrow(/pageSize/);
  });

  it('the name filter matches a substring of the alias in any case', async () => {
    const [kitchen] = await seedDevices(
      store.repo,
      newDevice('00:0A:14:81:22:01', { alias: 'Kitchen Router' }),
      newDevice('00:0A:14:81:22:02', { alias: 'Garage gateway' }),
    );

    const found = await store.repo.listDevices({ name: 'n rOUT', page: 1, pageSize: 10 });

    expect(found).toEqual({ items: [kitchen], total: 1 });
  });

  it('the search matches part of the MAC or of the serial number, in any case', async () => {
    const [a, b, c] = await seedDevices(
      store.repo,
      newDevice('00:0A:14:81:22:33', { serialNumber: 'HP-1000' }),
      newDevice('00:0B:99:AB:CD:EF', { serialNumber: 'hp-2000' }),
      newDevice('00:0C:00:00:00:01', { serialNumber: 'XY-81:22' }),
    );
    const search = (text: string) =>
      store.repo.listDevices({ search: text, page: 1, pageSize: 10 });

    expect(await search('ab:cd')).toEqual({ items: [b], total: 1 });
    expect(await search('81:22')).toEqual({ items: [a, c], total: 2 });
    expect(await search('HP-')).toEqual({ items: [a, b], total: 2 });
    expect(await search('00:0')).toMatchObject({ total: 3 });
    expect(await search('%')).toEqual({ items: [], total: 0 });
  });

  it('the companies filter limits the listing, and unclaimed devices are added on request', async () => {
    const acme = await store.repo.createCompany({ name: 'Acme' });
    const globex = await store.repo.createCompany({ name: 'Globex' });
    const [ofAcme, , unclaimed] = await seedDevices(
      store.repo,
      newDevice('00:0A:14:81:22:01', { companyId: acme.id }),
      newDevice('00:0A:14:81:22:02', { companyId: globex.id }),
      newDevice('00:0A:14:81:22:03'),
    );
    const list = (companyIds: number[], includeUnclaimed?: boolean) =>
      store.repo.listDevices({ companyIds, includeUnclaimed, page: 1, pageSize: 10 });

    expect(await list([acme.id])).toEqual({ items: [ofAcme], total: 1 });
    expect(await list([acme.id], true)).toEqual({ items: [ofAcme, unclaimed], total: 2 });
    expect(await list([], true)).toEqual({ items: [unclaimed], total: 1 });
    expect(await list([])).toEqual({ items: [], total: 0 });
    expect(await list([acme.id, globex.id], false)).toMatchObject({ total: 2 });
    expect((await store.repo.listDevices({ page: 1, pageSize: 10 })).total).toBe(3);
  });

  it('the isOnline filter tells connected devices from the others, and filters combine', async () => {
    const [online, offline] = await seedDevices(
      store.repo,
      newDevice('00:0A:14:81:22:01', { alias: 'Router A' }),
      newDevice('00:0A:14:81:22:02', { alias: 'Router B' }),
      newDevice('00:0A:14:81:22:03', { alias: 'Gateway' }),
    );
    await store.repo.setDeviceOnline(online.mac, true, T1);
    const list = (isOnline: boolean, name?: string) =>
      store.repo.listDevices({ isOnline, name, page: 1, pageSize: 10 });

    expect(await list(true)).toMatchObject({ items: [{ mac: online.mac }], total: 1 });
    expect(await list(false)).toMatchObject({ total: 2 });
    expect(await list(false, 'router')).toEqual({ items: [offline], total: 1 });
  });

  it('going online or offline and registering update the presence and lastSeen', async () => {
    await store.repo.createDevice(newDevice(MAC));

    await store.repo.setDeviceOnline(MAC, true, T1);
    expect(await store.repo.getDevice(MAC)).toMatchObject({ isOnline: true, lastSeen: T1 });

    const registration = { bootstrapServerUri: 'https://bs.example:8884' };
    await store.repo.setDeviceRegistration(MAC, registration, T2);
    expect(await store.repo.getDevice(MAC)).toMatchObject({
      isOnline: true,
      lastSeen: T2,
      bootstrapServerUri: 'https://bs.example:8884',
    });

    await store.repo.setDeviceOnline(MAC, false, T1);
    expect(await store.repo.getDevice(MAC)).toMatchObject({ isOnline: false, lastSeen: T1 });
  });

  it('presence or registration of a device that does not exist is DEVICE_NOT_FOUND', async () => {
    const presence = store.repo.setDeviceOnline(MAC, true, T1);
    const registration = store.repo.setDeviceRegistration(MAC, { bootstrapServerUri: null }, T1);

    await expect(presence).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND', status: 404 });
    await expect(presence).rejects.toThrow(MAC);
    await expect(registration).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
  });

  it('after an MS restart every device is offline; only those that were online are seen then', async () => {
    const [a, b] = await seedDevices(
      store.repo,
      newDevice('00:0A:14:81:22:01'),
      newDevice('00:0A:14:81:22:02'),
      newDevice('00:0A:14:81:22:03'),
    );
    await store.repo.setDeviceOnline(a.mac, true, T1);
    await store.repo.setDeviceOnline(b.mac, false, T1);

    await store.repo.setAllDevicesOffline(T2);

    const { items } = await store.repo.listDevices({ page: 1, pageSize: 10 });
    expect(items.map((d) => [d.isOnline, d.lastSeen])).toEqual([
      [false, T2],
      [false, T1],
      [false, null],
    ]);
  });

  it('deleting a device removes its certificates and commands, and only its own', async () => {
    const [gone, kept] = await seedDevices(
      store.repo,
      newDevice('00:0A:14:81:22:01'),
      newDevice('00:0A:14:81:22:02'),
    );
    for (const [serial, mac] of [
      ['0a01', gone.mac],
      ['0a02', kept.mac],
    ] as const) {
      await store.repo.recordCertificate({
        serial,
        deviceMac: mac,
        issuer: 'CN=Homeport Device CA',
        notBefore: T1,
        notAfter: T2,
      });
    }
    const command = await store.repo.createCommand({
      deviceMac: gone.mac,
      type: 'reboot',
      actor: 'admin@example.com',
    });
    await store.repo.createCommand({ deviceMac: kept.mac, type: 'reboot', actor: 'admin' });

    expect(await store.repo.deleteDevice(gone.mac)).toBe(true);

    expect(await store.repo.getDevice(gone.mac)).toBeUndefined();
    expect(await store.repo.getCertificate('0a01')).toBeUndefined();
    expect(await store.repo.getCommand(command.id)).toBeUndefined();
    expect(await store.repo.getCertificate('0a02')).toMatchObject({ deviceMac: kept.mac });
    expect((await store.repo.listCommands(kept.mac, { page: 1, pageSize: 10 })).total).toBe(1);
    expect(await store.repo.deleteDevice(gone.mac)).toBe(false);
  });

  it('a MAC freed by deleting its device can be registered again', async () => {
    const first = await store.repo.createDevice(newDevice(MAC));
    await store.repo.deleteDevice(MAC);

    const again = await store.repo.createDevice(newDevice(MAC, { alias: 'Replacement' }));

    expect(again).toMatchObject({ mac: MAC, alias: 'Replacement' });
    expect(again.id).not.toBe(first.id);
  });
});
