import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent, runFactory } from '../../src/device/index.js';
import { ADMIN_PASSWORD, startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import { waitFor } from '../helpers/wait.js';

// Devices wait 1/20 of the protocol's times: the BS's 2 s retry timer becomes 100 ms.
const TIME_SCALE = 0.05;

// Server 1 = Server 0 = A, where the device was made to bootstrap; Server 2 = B.
let a: TestDeployment;
let b: TestDeployment;
let bStopped = false;
let dir: string;
let tokens: { a: string; b: string };
let mac: string;
let agent: DeviceAgent;
const sentTo: string[] = [];

const deviceOn = async (d: TestDeployment, token: string) =>
  (await d.api('GET', `/api/management/devices/${mac}`, { token })).body.data;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'homeport-move-'));
  const factory = await runFactory({ outDir: join(dir, 'factory'), count: 1 });
  a = await startTestDeployment({
    host: '127.0.0.81',
    name: 'Server A',
    manufacturerCas: [await readFile(factory.manufacturerCa.cert, 'utf8')],
  });
  b = await startTestDeployment({ host: '127.0.0.82', name: 'Server B' });
  tokens = {
    a: await a.login('admin', ADMIN_PASSWORD),
    b: await b.login('admin', ADMIN_PASSWORD),
  };

  const [line] = (await readFile(factory.csv, 'utf8')).trim().split('\n').slice(1);
  const [alias, serial, , address] = (line ?? '').split(',');
  mac = address ?? '';
  // ARCHITECTURE §4 step 2: the identity exists on both servers.
  for (const [d, token] of [
    [a, tokens.a],
    [b, tokens.b],
  ] as const) {
    const r = await d.api('POST', '/api/identity/devices', {
      token,
      json: { alias, serial_number: serial, mac_address: mac },
    });
    expect(r.status).toBe(201);
  }

  agent = new DeviceAgent({
    folder: join(dir, 'factory', mac.replace(/:/g, '-')),
    bootstrap: { url: a.deployment.info.services.bootstrap.url, caPem: a.serverRoot },
    timeScale: TIME_SCALE,
  });
  agent.on('bootstrapped', (outcome) => sentTo.push(outcome.managementServer));
  await agent.start();
  await waitFor(async () => (await deviceOn(a, tokens.a)).is_online === true, 30_000);
}, 120_000);
afterAll(async () => {
  await agent?.stop();
  await a?.stop();
  if (!bStopped) await b?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a device moved from A to B', () => {
  it('comes online on B after B trusts its CA, A defines and assigns B, and A triggers', async () => {
    // Step 3: B's MS trusts A's device CAs, added to its own.
    const certsA = await a.api('GET', '/api/certs', { token: tokens.a });
    const certsB = await b.api('GET', '/api/certs', { token: tokens.b });
    const merged = Buffer.concat([
      Buffer.from(certsB.body.data.certs, 'base64'),
      Buffer.from(certsA.body.data.certs, 'base64'),
    ]).toString('base64');
    const put = await b.api('PUT', '/api/certs', { token: tokens.b, json: { certs: merged } });
    expect(put.status).toBe(200);

    // Step 4: A defines B's MS without an anchor, as the manual procedure does, and checks the
    // fingerprint it took against B's own word; then assigns the device to it.
    const ms = b.deployment.info.services.management;
    const info = await b.api('GET', '/api/info');
    const defined = await a.api('POST', '/api/bootstrap', {
      token: tokens.a,
      json: { name: 'Server B', address: ms.host, port: ms.port },
    });
    expect(defined.status).toBe(201);
    expect(defined.body.data.ca_fingerprint).toBe(info.body.data.server_root_fingerprint);
    const serverId = defined.body.data.id as number;
    const assigned = await a.api(
      'PUT',
      `/api/management/devices/${mac}/bootstrap-server/${serverId}`,
      { token: tokens.a },
    );
    expect(assigned.status).toBe(200);

    // Step 5: the trigger goes through the server that manages the device, A.
    const trigger = await a.api(
      'POST',
      `/api/management/devices/${mac}/commands/trigger-bootstrap`,
      { token: tokens.a },
    );
    expect(trigger.status).toBe(201);

    // Step 6: B reports it online, and the device's Register names A's BS as its home (the
    // status topic may arrive before Register).
    await waitFor(async () => {
      const onB = await deviceOn(b, tokens.b);
      return onB.is_online === true && onB.bootstrap_server_uri !== null;
    }, 30_000);
    expect(sentTo.at(-1)).toBe(ms.url);
    expect((await deviceOn(b, tokens.b)).bootstrap_server_uri).toBe(
      a.deployment.info.services.bootstrap.url,
    );
    await waitFor(async () => (await deviceOn(a, tokens.a)).is_online === false, 5000);
  });

  it('comes home to A, its assignment cleared and audited, when B dies', async () => {
    const bUrl = b.deployment.info.services.management.url;
    await b.stop();
    bStopped = true;

    await waitFor(async () => {
      const audit = await a.deployment.repo.listAudit({ subject: `device:${mac}`, limit: 20 });
      return audit.some((e) => e.action === 'device.recovered');
    }, 30_000);
    const [recovered] = (
      await a.deployment.repo.listAudit({ subject: `device:${mac}`, limit: 20 })
    ).filter((e) => e.action === 'device.recovered');
    expect(recovered).toMatchObject({
      actor: `device:${mac}`,
      detail: { failedServer: bUrl, name: 'Server B', onFailure: 'home' },
    });

    await waitFor(async () => (await deviceOn(a, tokens.a)).is_online === true, 30_000);
    expect(sentTo.at(-1)).toBe(a.deployment.info.services.management.url);
    const now = await a.api('GET', `/api/management/devices/${mac}/bootstrap-server`, {
      token: tokens.a,
    });
    expect(now.body.data).toMatchObject({ id: 0, co_located: true, name: 'Server A' });
  });
});
