import { createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent, type StateChange } from '../../src/device/agent.js';
import { BootstrapServerError } from '../../src/device/bootstrap-client.js';
import { chooseCredential, runBootstrap } from '../../src/device/bootstrap-flow.js';
import { DeviceStore } from '../../src/device/state.js';
import { isHomeportError } from '../../src/errors.js';
import {
  makeFactory,
  makeTestPki,
  serverCredential,
  startTestBootstrapServer,
  type SeenRequest,
  type TestBootstrapServer,
  type TestPki,
} from './fixtures.js';
import { eventually, memoryLogger, openssl, tempDir } from './helpers.js';

const HOST = '127.0.0.150';
const OTHER_HOST = '127.0.0.151';

/** A port on HOST where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('bootstrap and EST enrollment over mutual TLS', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: TestPki;
  let factory: { outDir: string; manufacturerCaPem: string };
  let bs: TestBootstrapServer;
  let intercept:
    | ((
        request: SeenRequest,
      ) => { status: number; headers?: Record<string, string>; body: unknown } | undefined)
    | undefined;
  let extraOperations: unknown[] = [];
  let msPort: number;
  let deviceNumber = 0;
  const agents: DeviceAgent[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    pki = await makeTestPki();
    factory = await makeFactory(dir, 20);
    msPort = await closedPort();
    bs = await startTestBootstrapServer({
      host: HOST,
      pki,
      manufacturerCaPem: factory.manufacturerCaPem,
      credential: await serverCredential(pki, [HOST]),
      msUrl: () => `mqtts://${HOST}:${msPort}`,
      intercept: (request) => intercept?.(request),
      get extraOperations() {
        return extraOperations;
      },
      // One attempt at the MS, then back to the BS: registration failure comes quickly.
      serverLifetime: { '17': 0, '20': 1 },
    });
  });

  afterEach(async () => {
    intercept = undefined;
    extraOperations = [];
    await Promise.all(agents.splice(0).map((agent) => agent.stop()));
  });

  afterAll(async () => {
    await bs.close();
    await cleanup();
  });

  /** The next unused device folder and its MAC. */
  function nextDevice() {
    deviceNumber++;
    const mac = `02:48:50:00:00:${deviceNumber.toString(16).padStart(2, '0').toUpperCase()}`;
    return { mac, folder: join(factory.outDir, mac.replace(/:/g, '-')) };
  }

  async function openStore(folder: string, url = bs.url, caPem = pki.serverRootPem) {
    return DeviceStore.open(folder, { bootstrap: { url, caPem } });
  }

  function context(store: DeviceStore) {
    return {
      store,
      log: memoryLogger().logger,
      signal: new AbortController().signal,
      requestTimeoutMs: 5000,
    };
  }

  function seenFor(mac: string) {
    return bs.seen.filter((request) => request.cn === mac);
  }

  it('a Bootstrap Server whose certificate chains to another root is refused before any request', async () => {
    const { mac, folder } = nextDevice();
    const otherPki = await makeTestPki();
    const store = await openStore(folder, bs.url, otherPki.serverRootPem);
    const error = await runBootstrap(context(store), chooseCredential(store, new Date(), false), {
      reason: 'initial',
    }).then(
      () => ({ code: 'connected' }),
      (err: unknown) => err as NodeJS.ErrnoException,
    );
    expect(error.code).toMatch(
      /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/,
    );
    expect(seenFor(mac)).toEqual([]);
    expect(Object.keys(store.instances)).toEqual(['/0/0']);
  });

  it('a Bootstrap Server certificate that does not name the host connected to is refused', async () => {
    const { mac, folder } = nextDevice();
    const impostor = await startTestBootstrapServer({
      host: OTHER_HOST,
      pki,
      manufacturerCaPem: factory.manufacturerCaPem,
      credential: await serverCredential(pki, [HOST]), // trusted, but for another address
      msUrl: () => 'mqtts://127.0.0.151:1',
    });
    try {
      const store = await openStore(folder, impostor.url);
      const error = await runBootstrap(context(store), chooseCredential(store, new Date(), false), {
        reason: 'initial',
      }).then(
        () => ({ code: 'connected' }),
        (err: unknown) => err as NodeJS.ErrnoException,
      );
      expect(error.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(impostor.seen.filter((r) => r.cn === mac)).toEqual([]);
    } finally {
      await impostor.close();
    }
  });

  it('a device the BS refuses gets the BS code, and its state keeps only /0/0', async () => {
    const { folder } = nextDevice();
    intercept = (request) =>
      request.path === '/bs'
        ? {
            status: 403,
            body: { success: false, code: 'DEVICE_NOT_REGISTERED', message: 'unknown MAC' },
          }
        : undefined;
    const store = await openStore(folder);
    const error = await runBootstrap(context(store), chooseCredential(store, new Date(), false), {
      reason: 'initial',
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(BootstrapServerError);
    expect(isHomeportError(error, 'DEVICE_NOT_REGISTERED')).toBe(true);
    expect((error as BootstrapServerError).httpStatus).toBe(403);
    expect((error as Error).message).toContain('unknown MAC');
    expect(Object.keys((await DeviceStore.open(folder)).instances)).toEqual(['/0/0']);
  });

  it('an answer without Bootstrap-Finish is refused before enrolling; nothing is saved', async () => {
    const { mac, folder } = nextDevice();
    intercept = (request) =>
      request.path === '/bs'
        ? {
            status: 200,
            body: {
              operations: [{ op: 'delete', path: '/0/1' }],
              est: { path: '/.well-known/est' },
            },
          }
        : undefined;
    const store = await openStore(folder);
    const error = await runBootstrap(context(store), chooseCredential(store, new Date(), false), {
      reason: 'initial',
    }).catch((err: unknown) => err);
    expect(isHomeportError(error, 'BOOTSTRAP_FAILED')).toBe(true);
    expect(seenFor(mac).map((r) => r.path)).toEqual(['/bs']);
    expect((await DeviceStore.open(folder)).operational).toBeUndefined();
  });

  it('first bootstrap: factory certificate, operations applied, a new key enrolled and saved', async () => {
    const { mac, folder } = nextDevice();
    const store = await openStore(folder);
    const outcome = await runBootstrap(context(store), chooseCredential(store, new Date(), false), {
      reason: 'initial',
    });
    expect(outcome).toMatchObject({ credential: 'factory', reenrolled: false, ignored: [] });

    const [request, enroll] = seenFor(mac);
    expect(request).toMatchObject({ method: 'POST', path: '/bs', ep: mac, credential: 'factory' });
    expect(JSON.parse(request.body)).toEqual({ reason: 'initial' });
    expect(enroll).toMatchObject({
      path: '/.well-known/est/simpleenroll',
      contentType: 'application/pkcs10',
    });
    expect(enroll.body).toMatch(/^[A-Za-z0-9+/=\r\n]+$/);

    const saved = await DeviceStore.open(folder);
    expect(saved.instances['/0/0']['0']).toBe(bs.url);
    expect(saved.instances['/0/1']).toMatchObject({ '0': `mqtts://${HOST}:${msPort}`, '2': 4 });
    expect(saved.instances['/1/0']).toMatchObject({ '1': 300, '16': true });
    expect(saved.operational?.issuedBy).toBe(bs.url);
    expect(saved.operational?.cert.subject).toBe(`CN=${mac}`);

    const keyPath = join(folder, 'operational.key');
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    const factoryKey = await readFile(join(folder, 'factory.key'), 'utf8');
    expect(await readFile(keyPath, 'utf8')).not.toBe(factoryKey);
    expect(
      saved.operational?.cert.checkPrivateKey(createPrivateKey(await readFile(keyPath, 'utf8'))),
    ).toBe(true);

    await writeFile(join(dir, 'device-chain.pem'), pki.deviceChainPem);
    const verified = await openssl([
      'verify',
      '-CAfile',
      join(dir, 'device-chain.pem'),
      '-purpose',
      'sslclient',
      join(folder, 'operational.pem'),
    ]);
    expect(verified.stdout).toContain(': OK');
  });

  it('a second bootstrap authenticates with the operational certificate and renews with simplereenroll', async () => {
    const { mac, folder } = nextDevice();
    const store = await openStore(folder);
    await runBootstrap(context(store), chooseCredential(store, new Date(), false), {
      reason: 'initial',
    });
    const firstCert = store.operational?.certPem;

    const chosen = chooseCredential(store, new Date(), false);
    expect(chosen.kind).toBe('operational');
    const outcome = await runBootstrap(context(store), chosen, { reason: 'triggered' });
    expect(outcome).toMatchObject({ credential: 'operational', reenrolled: true });
    expect(seenFor(mac).map((r) => [r.path, r.credential])).toEqual([
      ['/bs', 'factory'],
      ['/.well-known/est/simpleenroll', 'factory'],
      ['/bs', 'operational'],
      ['/.well-known/est/simplereenroll', 'operational'],
    ]);
    expect(store.operational?.certPem).not.toBe(firstCert);
  });

  it('operations that delete or rewrite /0/0 are ignored and the bootstrap still completes', async () => {
    const { folder } = nextDevice();
    extraOperations = [
      { op: 'delete', path: '/0/0' },
      { op: 'write', path: '/0/0', value: { '0': 'https://127.0.0.199:8884' } },
    ];
    const store = await openStore(folder);
    const outcome = await runBootstrap(context(store), chooseCredential(store, new Date(), false), {
      reason: 'initial',
    });
    expect(outcome.ignored).toHaveLength(2);
    expect((await DeviceStore.open(folder)).instances['/0/0']['0']).toBe(bs.url);
  });

  it('after 503 the agent waits Retry-After plus 0 to 50 %, then bootstraps', async () => {
    const { mac, folder } = nextDevice();
    let refusals = 0;
    intercept = (request) =>
      request.path === '/bs' && request.cn === mac && refusals++ === 0
        ? {
            status: 503,
            headers: { 'retry-after': '3' },
            body: { success: false, code: 'BOOTSTRAP_HOLD_OFF', message: 'busy' },
          }
        : undefined;
    const changes: StateChange[] = [];
    const agent = new DeviceAgent({
      folder,
      bootstrap: { url: bs.url, caPem: pki.serverRootPem },
      timeScale: 0.01, // Retry-After 3 s → 30 ms
    });
    agents.push(agent);
    agent.on('state', (change) => changes.push(change));
    await agent.start();
    await eventually(() => agent.stats.bootstraps === 1, 10_000, 'a bootstrap');

    const wait = changes.find((c) => c.state === 'backing-off');
    expect(wait?.error).toContain('BOOTSTRAP_HOLD_OFF');
    expect(wait?.delayMs).toBeGreaterThanOrEqual(30);
    expect(wait?.delayMs).toBeLessThanOrEqual(45);
    expect(changes.slice(0, 4).map((c) => c.state)).toEqual([
      'bootstrapping',
      'backing-off',
      'bootstrapping',
      'enrolling',
    ]);
  });

  it('an unreachable Bootstrap Server is retried from 1 s doubling up to 60 s, keeping /0/0', async () => {
    const { folder } = nextDevice();
    const url = `https://${HOST}:${await closedPort()}`;
    const delays: number[] = [];
    const agent = new DeviceAgent({
      folder,
      bootstrap: { url, caPem: pki.serverRootPem },
      timeScale: 0.001,
      random: () => 0.5, // no jitter, to read the nominal schedule
    });
    agents.push(agent);
    agent.on(
      'state',
      (c) => c.state === 'backing-off' && c.delayMs !== undefined && delays.push(c.delayMs),
    );
    await agent.start();
    await eventually(() => delays.length >= 8, 10_000, 'eight retries');
    await agent.stop();

    expect(delays.slice(0, 8)).toEqual([1, 2, 4, 8, 16, 32, 60, 60]);
    const store = await DeviceStore.open(folder);
    expect(Object.keys(store.instances)).toEqual(['/0/0']);
    expect(store.instances['/0/0']['0']).toBe(url);
  });

  it('an MS that cannot be reached sends the device back with registration-failure; a refused operational certificate falls back to the factory one', async () => {
    const { mac, folder } = nextDevice();
    const store = await openStore(folder);
    await runBootstrap(context(store), chooseCredential(store, new Date(), false), {
      reason: 'initial',
    });
    intercept = (request) =>
      request.path === '/bs' && request.credential === 'operational'
        ? { status: 403, body: { success: false, code: 'DEVICE_CERT_REVOKED', message: 'revoked' } }
        : undefined;

    const agent = new DeviceAgent({ folder, timeScale: 0.001 });
    agents.push(agent);
    const reasons: string[] = [];
    agent.on('bootstrapped', (outcome) => reasons.push(`${outcome.reason}:${outcome.credential}`));
    await agent.start();
    await eventually(() => reasons.length >= 1, 10_000, 'a bootstrap after the MS failure');
    await agent.stop();

    expect(reasons[0]).toBe('registration-failure:factory');
    const requests = seenFor(mac)
      .filter((r) => r.path === '/bs')
      .slice(1, 3);
    expect(requests.map((r) => r.credential)).toEqual(['operational', 'factory']);
    for (const request of requests) {
      expect(JSON.parse(request.body)).toEqual({
        reason: 'registration-failure',
        failed_server: `mqtts://${HOST}:${msPort}`,
      });
    }
  });
});
