import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent, type StateChange } from '../../src/device/agent.js';
import { DeviceStore } from '../../src/device/state.js';
import {
  makeFactory,
  makeTestPki,
  serverCredential,
  startTestBootstrapServer,
  startTestBroker,
  type TestBootstrapServer,
  type TestBroker,
  type TestPki,
} from './fixtures.js';
import { eventually, tempDir } from './helpers.js';

const HOST = '127.0.0.160';

/** Collects what the observer receives, by topic. */
function watch(observer: MqttClient) {
  const messages: { topic: string; payload: string; retain: boolean }[] = [];
  observer.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  return messages;
}

/** The retained message of a topic, read by a fresh subscription. */
async function retained(observer: MqttClient, topic: string): Promise<string | undefined> {
  const seen: string[] = [];
  const listener = (t: string, payload: Buffer, packet: { retain: boolean }) => {
    if (t === topic && packet.retain) seen.push(payload.toString());
  };
  observer.on('message', listener);
  await observer.subscribeAsync(topic, { qos: 1 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await observer.unsubscribeAsync(topic);
  observer.off('message', listener);
  return seen.at(-1);
}

describe('the device session with a Management Server (MQTT 3.1.1 over mutual TLS)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: TestPki;
  let factoryDir: string;
  let bs: TestBootstrapServer;
  let broker: TestBroker;
  let msCaPem: string | undefined;
  let deviceNumber = 0;
  const agents: DeviceAgent[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    pki = await makeTestPki();
    const factory = await makeFactory(dir, 20, '02:48:51');
    factoryDir = factory.outDir;
    const credential = await serverCredential(pki, [HOST]);
    broker = await startTestBroker(HOST, pki, credential);
    bs = await startTestBootstrapServer({
      host: HOST,
      pki,
      manufacturerCaPem: factory.manufacturerCaPem,
      credential,
      msUrl: () => broker.url,
      msCaPem: () => msCaPem ?? pki.serverRootPem,
    });
  });

  afterEach(async () => {
    msCaPem = undefined;
    await Promise.all(agents.splice(0).map((agent) => agent.stop()));
  });

  afterAll(async () => {
    await broker.close();
    await bs.close();
    await cleanup();
  });

  function newAgent(options: { notifyIntervalMs?: number; folder?: string } = {}) {
    deviceNumber++;
    const mac = `02:48:51:00:00:${deviceNumber.toString(16).padStart(2, '0').toUpperCase()}`;
    const folder = options.folder ?? join(factoryDir, mac.replace(/:/g, '-'));
    const agent = new DeviceAgent({
      folder,
      bootstrap: { url: bs.url, caPem: pki.serverRootPem },
      timeScale: 0.01,
      ...(options.notifyIntervalMs !== undefined && { notifyIntervalMs: options.notifyIntervalMs }),
    });
    const changes: StateChange[] = [];
    agent.on('state', (change) => changes.push(change));
    agents.push(agent);
    return { agent, mac, folder, changes };
  }

  async function online(agent: DeviceAgent, connects = 1) {
    await eventually(
      () => agent.state === 'online' && agent.stats.connects >= connects,
      10_000,
      'online',
    );
  }

  it('a Management Server whose certificate chains to an unknown root is never connected to', async () => {
    msCaPem = (await makeTestPki()).serverRootPem;
    const { agent, changes } = newAgent();
    await agent.start();
    await eventually(() => agent.stats.connectFailures >= 2, 10_000, 'two failed connects');
    expect(agent.stats.connects).toBe(0);
    const failure = changes.find((c) => c.state === 'backing-off' && c.server);
    expect(failure?.error).toMatch(/self.signed|unable to verify|issuer/i);
  });

  it('after CONNACK: subscription, retained online status, then Register naming its Bootstrap Server', async () => {
    const { agent, mac } = newAgent();
    await agent.start();
    await online(agent);

    const mine = broker.published.filter((p) => p.topic.startsWith(`dm/${mac}/`));
    expect(mine.map((p) => p.topic).slice(0, 2)).toEqual([
      `dm/${mac}/status`,
      `dm/${mac}/register`,
    ]);
    expect(mine[0]).toMatchObject({ retain: true, qos: 1 });
    expect(JSON.parse(mine[0].payload.toString())).toEqual({ state: 'online' });
    expect(JSON.parse(mine[1].payload.toString())).toEqual({
      lifetime: 300,
      version: '1.1',
      objects: ['/0', '/1', '/3', '/4'],
      bootstrap_server: bs.url,
    });
    expect(mine[1].qos).toBe(1);
    expect(await retained(broker.observer, `dm/${mac}/status`)).toBe('{"state":"online"}');
  });

  it('answers a read with SenML on rsp/<id>, and an unknown path with 4.04', async () => {
    const { agent, mac } = newAgent();
    await agent.start();
    await online(agent);
    const messages = watch(broker.observer);
    await broker.observer.subscribeAsync(`dm/${mac}/rsp/+`, { qos: 1 });

    await broker.observer.publishAsync(
      `dm/${mac}/req/r1`,
      JSON.stringify({ op: 'read', path: '/3/0' }),
      { qos: 1 },
    );
    await broker.observer.publishAsync(
      `dm/${mac}/req/r2`,
      JSON.stringify({ op: 'read', path: '/9/0' }),
      { qos: 1 },
    );
    const first = await eventually(
      () => messages.find((m) => m.topic === `dm/${mac}/rsp/r1`),
      5000,
      'rsp r1',
    );
    const second = await eventually(
      () => messages.find((m) => m.topic === `dm/${mac}/rsp/r2`),
      5000,
      'rsp r2',
    );

    const answer = JSON.parse(first.payload);
    expect(answer.code).toBe('2.05');
    expect(answer.payload[0]).toEqual({ bn: '/3/0/', n: '0', vs: 'Homeport' });
    expect(answer.payload).toContainEqual({ n: '1', vs: 'HP-GW1' });
    expect(answer.payload.find((r: { n: string }) => r.n === '2').vs).toMatch(/^HP\d{15}$/);
    expect(JSON.parse(second.payload)).toEqual({ code: '4.04' });
  });

  it('notifies the Device object periodically', async () => {
    const { agent, mac } = newAgent({ notifyIntervalMs: 50 });
    await agent.start();
    await online(agent);
    const notify = await eventually(
      () => broker.published.find((p) => p.topic === `dm/${mac}/notify`),
      5000,
      'a Notify',
    );
    expect(notify.qos).toBe(0);
    expect(JSON.parse(notify.payload.toString())[0]).toEqual({
      bn: '/3/0/',
      n: '0',
      vs: 'Homeport',
    });
  });

  it('a killed device leaves its Will: the retained status becomes offline without its saying so', async () => {
    const { agent, mac } = newAgent();
    await agent.start();
    await online(agent);
    await agent.kill();

    expect(
      await eventually(
        async () =>
          (await retained(broker.observer, `dm/${mac}/status`)) === '{"state":"offline"}' &&
          'offline',
        5000,
        'the Will',
      ),
    ).toBe('offline');
    expect(broker.disconnects.filter((d) => d.id === mac)).toEqual([{ id: mac, clean: false }]);
  });

  it('stop() publishes offline, disconnects cleanly and leaves no timer behind', async () => {
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    const { agent, mac, changes } = newAgent({ notifyIntervalMs: 20 });
    await agent.start();
    await online(agent);
    await agent.stop();

    expect(agent.state).toBe('stopped');
    expect(changes.at(-1)?.state).toBe('stopped');
    expect(agent.timers.pending).toBe(0);
    const fromDevice = broker.published
      .filter((p) => p.topic === `dm/${mac}/status`)
      .map((p) => p.payload.toString());
    expect(fromDevice).toEqual(['{"state":"online"}', '{"state":"offline"}']);
    expect(broker.disconnects.filter((d) => d.id === mac)).toEqual([{ id: mac, clean: true }]);
    await eventually(() => timeouts() <= before, 2000, 'no timers left');
  });

  it('Execute /1/0/9 answers 2.04, disconnects, and bootstraps with reason triggered', async () => {
    const { agent, mac } = newAgent();
    await agent.start();
    await online(agent);
    const messages = watch(broker.observer);
    await broker.observer.subscribeAsync(`dm/${mac}/rsp/+`, { qos: 1 });

    await broker.observer.publishAsync(
      `dm/${mac}/req/t1`,
      JSON.stringify({ op: 'execute', path: '/1/0/9' }),
      { qos: 1 },
    );
    const answer = await eventually(
      () => messages.find((m) => m.topic === `dm/${mac}/rsp/t1`),
      5000,
      'rsp',
    );
    expect(JSON.parse(answer.payload)).toEqual({ code: '2.04' });
    await online(agent, 2);

    const requests = bs.seen.filter((r) => r.cn === mac);
    expect(requests.map((r) => [r.path, r.credential])).toEqual([
      ['/bs', 'factory'],
      ['/.well-known/est/simpleenroll', 'factory'],
      ['/bs', 'operational'],
      ['/.well-known/est/simplereenroll', 'operational'],
    ]);
    expect(JSON.parse(requests[2].body)).toEqual({ reason: 'triggered' });
    expect(agent.stats.bootstraps).toBe(2);
  });

  it('Execute /3/0/4 answers 2.04 and reconnects without bootstrapping', async () => {
    const { agent, mac, changes } = newAgent();
    await agent.start();
    await online(agent);
    await broker.observer.publishAsync(
      `dm/${mac}/req/b1`,
      JSON.stringify({ op: 'execute', path: '/3/0/4' }),
      { qos: 1 },
    );
    await online(agent, 2);
    expect(agent.stats.bootstraps).toBe(1);
    const states = changes.map((c) => c.state);
    expect(states.slice(states.indexOf('online'))).toEqual(['online', 'connecting', 'online']);
  });

  it('a write of the lifetime is saved and followed by an Update', async () => {
    const { agent, mac, folder } = newAgent();
    await agent.start();
    await online(agent);
    await broker.observer.publishAsync(
      `dm/${mac}/req/w1`,
      JSON.stringify({ op: 'write', path: '/1/0/1', value: 600 }),
      { qos: 1 },
    );
    const update = await eventually(
      () => broker.published.find((p) => p.topic === `dm/${mac}/update`),
      5000,
      'Update',
    );
    expect(JSON.parse(update.payload.toString())).toEqual({ lifetime: 600 });
    await agent.stop();
    expect((await DeviceStore.open(folder)).instances['/1/0']['1']).toBe(600);
  });

  it('a dropped connection is retried with backoff and the device registers again', async () => {
    const { agent, changes } = newAgent();
    await agent.start();
    await online(agent);
    broker.dropClients();
    await online(agent, 2);
    const wait = changes.find((c) => c.state === 'backing-off');
    // /1/0/18 = 1 s ±25 %, scaled by 0.01.
    expect(wait?.delayMs).toBeGreaterThanOrEqual(7);
    expect(wait?.delayMs).toBeLessThanOrEqual(13);
    expect(agent.stats.bootstraps).toBe(1);
  });

  it('an operational certificate near the end of its life is renewed with reason expiring', async () => {
    deviceNumber++;
    const mac = `02:48:51:00:00:${deviceNumber.toString(16).padStart(2, '0').toUpperCase()}`;
    const agent = new DeviceAgent({
      folder: join(factoryDir, mac.replace(/:/g, '-')),
      bootstrap: { url: bs.url, caPem: pki.serverRootPem },
      timeScale: 0.01,
      notifyIntervalMs: 50,
      renewBefore: 1, // any certificate counts as expiring
    });
    agents.push(agent);
    const reasons: string[] = [];
    agent.on('bootstrapped', (outcome) => reasons.push(outcome.reason));
    await agent.start();
    await eventually(() => reasons.length >= 2, 10_000, 'a renewal');
    expect(reasons.slice(0, 2)).toEqual(['initial', 'expiring']);
    const renewal = bs.seen.filter((r) => r.cn === mac && r.path === '/bs')[1];
    expect(renewal.credential).toBe('operational');
    expect(JSON.parse(renewal.body)).toEqual({ reason: 'expiring' });
  });

  it('an agent restarted on the same folder connects with its saved credentials, without bootstrapping', async () => {
    const first = newAgent();
    await first.agent.start();
    await online(first.agent);
    await first.agent.kill();
    const before = bs.seen.length;

    const second = new DeviceAgent({ folder: first.folder, timeScale: 0.01 });
    agents.push(second);
    await second.start();
    await online(second);
    expect(second.stats.bootstraps).toBe(0);
    expect(bs.seen.filter((r) => r.cn === first.mac)).toHaveLength(2);
    expect(bs.seen.length).toBe(before);
  });
});
