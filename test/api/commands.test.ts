import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, makeWorld, type World } from './fixtures.js';

let w: World;
let editor: { id: number; token: string };
let mover: { id: number; token: string };
let viewer: { id: number; token: string };
let outsider: { id: number; token: string };

const DEVICE = '00:0A:14:81:DD:01';
const OTHER = '00:0A:14:81:DD:02';
const base = (mac: string) => `/api/management/devices/${mac}/commands`;

beforeAll(async () => {
  w = await makeWorld({ host: '127.0.0.33' });
  editor = await addUser(w, 'editor', w.companies.a, ['ViewDevice', 'EditDevice']);
  mover = await addUser(w, 'mover', w.companies.a, ['ChangeDeviceDMServer']);
  viewer = await addUser(w, 'device-viewer', w.companies.a, ['ViewDevice']);
  outsider = await addUser(w, 'outsider', w.companies.b, ['ViewDevice', 'EditDevice']);
  for (const mac of [DEVICE, OTHER]) {
    const r = await w.d.api('POST', '/api/identity/devices', {
      token: w.admin,
      json: { alias: mac, serial_number: mac, mac_address: mac, company_id: w.companies.a1 },
    });
    if (r.status !== 201) throw new Error(r.text);
  }
});
afterAll(async () => {
  await w?.d.stop();
});

describe('POST …/commands/trigger-bootstrap and …/commands/reboot', () => {
  it('queues a reboot for an editor, addressed with dashes, with an audit entry', async () => {
    const r = await w.d.api('POST', `${base('00-0a-14-81-dd-01')}/reboot`, {
      token: editor.token,
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      success: true,
      data: {
        id: expect.any(Number),
        type: 'reboot',
        state: 'Created',
        created_at: expect.any(String),
        updated_at: expect.any(String),
        result: null,
      },
    });
    const audit = await w.d.deployment.repo.listAudit({ subject: `device:${DEVICE}`, limit: 1 });
    expect(audit[0]).toMatchObject({ action: 'command.reboot', actor: 'editor@example.com' });
  });

  it('lets ChangeDeviceDMServer trigger a bootstrap, but not a reboot', async () => {
    const r = await w.d.api('POST', `${base('000a.1481.dd01')}/trigger-bootstrap`, {
      token: mover.token,
    });
    expect(r.status).toBe(201);
    expect(r.body.data).toMatchObject({ type: 'trigger-bootstrap', state: 'Created' });

    const reboot = await w.d.api('POST', `${base(DEVICE)}/reboot`, { token: mover.token });
    expect(reboot.status).toBe(403);
    expect(reboot.body.message).toContain('EditDevice');
  });

  it('refuses a viewer and a user of another company, naming what is needed', async () => {
    const r = await w.d.api('POST', `${base(DEVICE)}/trigger-bootstrap`, { token: viewer.token });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('PERMISSION_NOT_HELD');
    expect(r.body.message).toContain('EditDevice or ChangeDeviceDMServer');
    const other = await w.d.api('POST', `${base(DEVICE)}/reboot`, { token: outsider.token });
    expect(other.status).toBe(403);
    expect(other.body.message).toContain(`company ${w.companies.a1}`);
  });

  it('answers 404 for an unknown device and 400 for a bad MAC', async () => {
    const unknown = await w.d.api('POST', `${base('00:0A:14:00:00:01')}/reboot`, {
      token: w.admin,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('DEVICE_NOT_FOUND');
    const bad = await w.d.api('POST', `${base('00:0A:14:81:DD')}/reboot`, { token: w.admin });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('MAC_INVALID');
  });
});

describe('GET …/commands', () => {
  it("lists a device's commands newest first, with total_items, to a viewer", async () => {
    const r = await w.d.api('GET', base(DEVICE), { token: viewer.token });
    expect(r.status).toBe(200);
    expect(r.body.total_items).toBe(2);
    expect(r.body.data.map((c: { type: string }) => c.type)).toEqual([
      'trigger-bootstrap',
      'reboot',
    ]);
    const page = await w.d.api('GET', `${base(DEVICE)}?page=2&pageSize=1`, {
      token: viewer.token,
    });
    expect(page.body).toMatchObject({ total_items: 2, data: [{ type: 'reboot' }] });
  });

  it('refuses a user without ViewDevice in the device company', async () => {
    const r = await w.d.api('GET', base(DEVICE), { token: outsider.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('ViewDevice');
  });
});

describe('GET …/commands/{id}', () => {
  let own: number;
  let foreign: number;
  beforeAll(async () => {
    own = (await w.d.api('GET', base(DEVICE), { token: w.admin })).body.data[0].id;
    const r = await w.d.api('POST', `${base(OTHER)}/reboot`, { token: editor.token });
    foreign = r.body.data.id;
  });

  it('reads one command of the device', async () => {
    const r = await w.d.api('GET', `${base(DEVICE)}/${own}`, { token: viewer.token });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ id: own, type: 'trigger-bootstrap' });
  });

  it("answers 404 for another device's command and for an unknown id", async () => {
    const r = await w.d.api('GET', `${base(DEVICE)}/${foreign}`, { token: viewer.token });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('COMMAND_NOT_FOUND');
    expect(r.body.message).toContain(DEVICE);
    const unknown = await w.d.api('GET', `${base(DEVICE)}/99999`, { token: viewer.token });
    expect(unknown.status).toBe(404);
    const bad = await w.d.api('GET', `${base(DEVICE)}/abc`, { token: viewer.token });
    expect(bad.status).toBe(400);
  });

  it('refuses a user without ViewDevice', async () => {
    const r = await w.d.api('GET', `${base(DEVICE)}/${own}`, { token: outsider.token });
    expect(r.status).toBe(403);
  });
});
