import { describe, expect, it } from 'vitest';

import { backends, useStore } from './backends.js';
import { newDevice } from './device-fixtures.js';

const MAC = '00:0A:14:81:22:33';
const ACTOR = 'admin@example.com';

describe.each(backends)('commands on $name', (backend) => {
  const store = useStore(backend);

  it('a command for a device that does not exist is refused with DEVICE_NOT_FOUND', async () => {
    const creating = store.repo.createCommand({ deviceMac: MAC, type: 'reboot', actor: ACTOR });

    await expect(creating).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND', status: 404 });
    await expect(creating).rejects.toThrow(MAC);
  });

  it('a new command is Created, without a result, and read back with its device MAC', async () => {
    await store.repo.createDevice(newDevice(MAC));

    const command = await store.repo.createCommand({
      deviceMac: MAC,
      type: 'trigger-bootstrap',
      actor: ACTOR,
    });

    expect(command).toEqual({
      id: command.id,
      deviceMac: MAC,
      type: 'trigger-bootstrap',
      state: 'Created',
      createdAt: command.createdAt,
      updatedAt: command.createdAt,
      actor: ACTOR,
      result: null,
    });
    expect(typeof command.id).toBe('number');
    expect(await store.repo.getCommand(command.id)).toEqual(command);
    expect(await store.repo.getCommand(command.id + 1)).toBeUndefined();
  });

  it('a command moves through its states, keeping its result unless a new one is given', async () => {
    await store.repo.createDevice(newDevice(MAC));
    const created = await store.repo.createCommand({
      deviceMac: MAC,
      type: 'reboot',
      actor: ACTOR,
    });
    await new Promise((resolve) => setTimeout(resolve, 5));

    const waiting = await store.repo.setCommandState(created.id, 'AwaitingResponse', 'sent');
    const done = await store.repo.setCommandState(created.id, 'Success');
    const cleared = await store.repo.setCommandState(created.id, 'Success', null);

    expect(waiting).toMatchObject({ state: 'AwaitingResponse', result: 'sent' });
    expect(waiting.updatedAt > created.updatedAt).toBe(true);
    expect(waiting.createdAt).toBe(created.createdAt);
    expect(done).toMatchObject({ state: 'Success', result: 'sent' });
    expect(cleared).toMatchObject({ state: 'Success', result: null });
    expect(await store.repo.getCommand(created.id)).toEqual(cleared);
  });

  it('moving a command that does not exist is refused with COMMAND_NOT_FOUND', async () => {
    const moving = store.repo.setCommandState(42, 'Aborted', 'operator cancelled');

    await expect(moving).rejects.toMatchObject({ code: 'COMMAND_NOT_FOUND', status: 404 });
    await expect(moving).rejects.toThrow(/command 42/);
  });

  it("a device's commands are listed newest first, page by page, with the total", async () => {
    const other = '00:0A:14:81:22:34';
    await store.repo.createDevice(newDevice(MAC));
    await store.repo.createDevice(newDevice(other));
    const ids = [];
    for (let i = 0; i < 5; i += 1) {
      const type = i % 2 === 0 ? 'reboot' : 'trigger-bootstrap';
      ids.push((await store.repo.createCommand({ deviceMac: MAC, type, actor: ACTOR })).id);
    }
    await store.repo.createCommand({ deviceMac: other, type: 'reboot', actor: ACTOR });

    const first = await store.repo.listCommands(MAC, { page: 1, pageSize: 2 });
    const last = await store.repo.listCommands(MAC, { page: 3, pageSize: 2 });

    expect(first.items.map((c) => c.id)).toEqual([ids[4], ids[3]]);
    expect(first.total).toBe(5);
    expect(last.items.map((c) => c.id)).toEqual([ids[0]]);
    expect(last.items[0]).toMatchObject({ deviceMac: MAC, type: 'reboot' });
    expect(await store.repo.listCommands('00:0A:14:81:22:35', { page: 1, pageSize: 2 })).toEqual({
      items: [],
      total: 0,
    });
    await expect(store.repo.listCommands(MAC, { page: 1, pageSize: 0 })).rejects.toThrow(
      RangeError,
    );
  });

  it('open commands are those Created or AwaitingResponse, oldest first', async () => {
    const other = '00:0A:14:81:22:34';
    await store.repo.createDevice(newDevice(MAC));
    await store.repo.createDevice(newDevice(other));
    const create = (deviceMac: string) =>
      store.repo.createCommand({ deviceMac, type: 'reboot', actor: ACTOR });
    const [a, b, c, d, e] = [
      await create(MAC),
      await create(MAC),
      await create(MAC),
      await create(MAC),
      await create(MAC),
    ];
    await create(other);
    await store.repo.setCommandState(a.id, 'AwaitingResponse');
    await store.repo.setCommandState(b.id, 'Success', '2.04');
    await store.repo.setCommandState(c.id, 'Failed', '4.04');
    await store.repo.setCommandState(d.id, 'Superseded');

    const open = await store.repo.openCommands(MAC);

    expect(open.map((cmd) => [cmd.id, cmd.state])).toEqual([
      [a.id, 'AwaitingResponse'],
      [e.id, 'Created'],
    ]);
    expect(await store.repo.openCommands('00:0A:14:81:22:35')).toEqual([]);
  });
});
