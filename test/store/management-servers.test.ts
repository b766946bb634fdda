import { describe, expect, it } from 'vitest';

import type { NewManagementServer } from '../../src/store/index.js';
import { backends, useStore } from './backends.js';
import { newDevice, seedDevices } from './device-fixtures.js';

const MAC = '00:0A:14:81:22:33';
const OTHER = '00:0A:14:81:22:34';

/** A definition; the PEM is a placeholder, the store does not parse it. */
function definition(extra: Partial<NewManagementServer> = {}): NewManagementServer {
  return {
    name: 'Server 2',
    address: 'management.b.example',
    port: 8883,
    caPem: '-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n',
    caFingerprint: 'ab'.repeat(32),
    ...extra,
  };
}

describe.each(backends)('management-server definitions on $name', (backend) => {
  const store = useStore(backend);

  it('a definition is read back with every field, its address lower case and on_failure home', async () => {
    const acme = await store.repo.createCompany({ name: 'Acme' });
    const created = await store.repo.createManagementServer(
      definition({ address: 'Management.B.Example', companyId: acme.id }),
    );

    expect(await store.repo.getManagementServer(created.id)).toEqual({
      id: created.id,
      name: 'Server 2',
      address: 'management.b.example',
      port: 8883,
      companyId: acme.id,
      caPem: definition().caPem,
      caFingerprint: 'ab'.repeat(32),
      onFailure: 'home',
      createdAt: created.createdAt,
    });
    expect(await store.repo.getManagementServer(created.id + 1)).toBeUndefined();
  });

  it('a second definition of the same address and port, in another case, is refused with its id', async () => {
    const first = await store.repo.createManagementServer(definition());

    const second = store.repo.createManagementServer(
      definition({ name: 'again', address: 'MANAGEMENT.b.example' }),
    );

    await expect(second).rejects.toMatchObject({
      code: 'MANAGEMENT_SERVER_EXISTS',
      status: 409,
      details: { id: first.id },
    });
    await expect(second).rejects.toThrow(`id ${first.id}`);
    const samePortElsewhere = await store.repo.createManagementServer(
      definition({ address: '192.0.2.10' }),
    );
    expect(samePortElsewhere.id).toBeGreaterThan(first.id);
  });

  it('a definition of a company that does not exist is refused with COMPANY_NOT_FOUND', async () => {
    const orphan = store.repo.createManagementServer(definition({ companyId: 999 }));

    await expect(orphan).rejects.toMatchObject({ code: 'COMPANY_NOT_FOUND', status: 404 });
    expect(await store.repo.listManagementServers({})).toEqual([]);
  });

  it('lists by name in part and by address whole, any case, and by company', async () => {
    const acme = await store.repo.createCompany({ name: 'Acme' });
    const a = await store.repo.createManagementServer(definition({ name: 'Server Two' }));
    const b = await store.repo.createManagementServer(
      definition({ name: 'Lab', address: 'lab.example', companyId: acme.id }),
    );
    const c = await store.repo.createManagementServer(
      definition({ name: 'Lab 2', address: 'lab.example', port: 9883 }),
    );
    const ids = async (query: object) =>
      (await store.repo.listManagementServers(query)).map((s) => s.id);

    expect(await ids({})).toEqual([a.id, b.id, c.id]);
    expect(await ids({ name: 'lab' })).toEqual([b.id, c.id]);
    expect(await ids({ address: 'LAB.example' })).toEqual([b.id, c.id]);
    expect(await ids({ address: 'lab' })).toEqual([]);
    expect(await ids({ address: 'lab.example', port: 9883 })).toEqual([c.id]);
    expect(await ids({ companyIds: [acme.id] })).toEqual([b.id]);
    expect(await ids({ companyIds: [] })).toEqual([]);
  });

  it('an update changes only the fields given and keeps (address, port) unique', async () => {
    const a = await store.repo.createManagementServer(definition());
    const b = await store.repo.createManagementServer(definition({ address: 'other.example' }));

    const changed = await store.repo.updateManagementServer(a.id, {
      name: 'Renamed',
      onFailure: 'retry',
      port: 18883,
    });
    expect(changed).toMatchObject({
      id: a.id,
      name: 'Renamed',
      address: 'management.b.example',
      port: 18883,
      onFailure: 'retry',
      caFingerprint: a.caFingerprint,
    });

    const clash = store.repo.updateManagementServer(b.id, {
      address: 'Management.B.Example',
      port: 18883,
    });
    await expect(clash).rejects.toMatchObject({
      code: 'MANAGEMENT_SERVER_EXISTS',
      details: { id: a.id },
    });
    await expect(store.repo.updateManagementServer(a.id, { port: 18883 })).resolves.toMatchObject({
      id: a.id,
    });
    await expect(store.repo.updateManagementServer(999, { name: 'x' })).rejects.toMatchObject({
      code: 'MANAGEMENT_SERVER_NOT_FOUND',
      status: 404,
    });
  });

  it('devices are assigned, counted, and sent back to the co-located MS with null', async () => {
    await seedDevices(store.repo, newDevice(MAC), newDevice(OTHER));
    const server = await store.repo.createManagementServer(definition());

    await store.repo.setDeviceManagementServer(MAC, server.id);
    await store.repo.setDeviceManagementServer(OTHER, server.id);
    expect((await store.repo.getDevice(MAC))?.managementServerId).toBe(server.id);
    expect(await store.repo.countDevicesAssigned(server.id)).toBe(2);

    await store.repo.setDeviceManagementServer(OTHER, null);
    expect((await store.repo.getDevice(OTHER))?.managementServerId).toBeNull();
    expect(await store.repo.countDevicesAssigned(server.id)).toBe(1);
  });

  it('assigning an unknown device or to an unknown definition is refused and changes nothing', async () => {
    await seedDevices(store.repo, newDevice(MAC));
    const server = await store.repo.createManagementServer(definition());

    await expect(store.repo.setDeviceManagementServer(MAC, server.id + 7)).rejects.toMatchObject({
      code: 'MANAGEMENT_SERVER_NOT_FOUND',
    });
    await expect(store.repo.setDeviceManagementServer(OTHER, server.id)).rejects.toMatchObject({
      code: 'DEVICE_NOT_FOUND',
    });
    expect((await store.repo.getDevice(MAC))?.managementServerId).toBeNull();
  });

  it('a definition devices are assigned to cannot be deleted; the refusal says how many', async () => {
    await seedDevices(store.repo, newDevice(MAC), newDevice(OTHER));
    const server = await store.repo.createManagementServer(definition());
    await store.repo.setDeviceManagementServer(MAC, server.id);
    await store.repo.setDeviceManagementServer(OTHER, server.id);

    const refused = store.repo.deleteManagementServer(server.id);
    await expect(refused).rejects.toMatchObject({
      code: 'MANAGEMENT_SERVER_IN_USE',
      status: 409,
      details: { devices: 2 },
    });
    await expect(refused).rejects.toThrow('2 devices are assigned');
    expect(await store.repo.getManagementServer(server.id)).toBeDefined();

    await store.repo.setDeviceManagementServer(MAC, null);
    await store.repo.setDeviceManagementServer(OTHER, null);
    expect(await store.repo.deleteManagementServer(server.id)).toBe(true);
    expect(await store.repo.deleteManagementServer(server.id)).toBe(false);
  });

  it('an update with companyId null leaves the definition to SysAdmins alone', async () => {
    const acme = await store.repo.createCompany({ name: 'Acme' });
    const server = await store.repo.createManagementServer(definition({ companyId: acme.id }));
    await store.repo.updateManagementServer(server.id, { companyId: null });

    expect((await store.repo.getManagementServer(server.id))?.companyId).toBeNull();
  });

  it('an assignment made in a transaction that rolls back is not kept', async () => {
    await seedDevices(store.repo, newDevice(MAC));
    const server = await store.repo.createManagementServer(definition());

    const failing = store.repo.transaction(async (tx) => {
      await tx.setDeviceManagementServer(MAC, server.id);
      throw new Error('audit failed');
    });

    await expect(failing).rejects.toThrow('audit failed');
    expect((await store.repo.getDevice(MAC))?.managementServerId).toBeNull();
  });
});
