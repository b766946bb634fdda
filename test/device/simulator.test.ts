import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summaryLine } from '../../src/cli/simulate.js';
import { startSimulator } from '../../src/device/simulator.js';
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
import { tempDir } from './helpers.js';

const HOST = '127.0.0.170';

describe('the simulator', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: TestPki;
  let factory: { outDir: string; manufacturerCaPem: string };
  let bs: TestBootstrapServer;
  let broker: TestBroker;
  let inFlight = 0;
  let maxInFlight = 0;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    pki = await makeTestPki();
    factory = await makeFactory(dir, 30, '02:48:52');
    const credential = await serverCredential(pki, [HOST]);
    broker = await startTestBroker(HOST, pki, credential);
    bs = await startTestBootstrapServer({
      host: HOST,
      pki,
      manufacturerCaPem: factory.manufacturerCaPem,
      credential,
      msUrl: () => broker.url,
      intercept: (request) => {
        // Count Bootstrap-Requests between their /bs and their enrollment.
        if (request.path === '/bs') maxInFlight = Math.max(maxInFlight, ++inFlight);
        if (request.path.includes('enroll')) inFlight--;
        return undefined;
      },
    });
  });

  afterAll(async () => {
    await broker.close();
    await bs.close();
    await cleanup();
  });

  it('a device folder that cannot be opened is counted and the others still run', async () => {
    const { outDir } = await makeFactory(join(dir, 'broken'), 2, '02:48:53');
    await writeFile(join(outDir, '02-48-53-00-00-01', 'identity.json'), 'not json');
    const simulator = await startSimulator({
      factoryDir: outDir,
      bootstrap: { url: bs.url, caPem: pki.serverRootPem },
      timeScale: 0.01,
    });
    try {
      await simulator.ready;
      expect(simulator.counts()).toMatchObject({ total: 2, failedToStart: 1 });
      expect(simulator.agents).toHaveLength(1);
    } finally {
      await simulator.stop();
    }
  });

  it('runs the first N devices of devices.csv online, bootstrapping at most `concurrency` at once', async () => {
    const simulator = await startSimulator({
      factoryDir: factory.outDir,
      bootstrap: { url: bs.url, caPem: pki.serverRootPem },
      count: 24,
      concurrency: 4,
      timeScale: 0.01,
    });
    const counts = await simulator.waitFor((c) => c.online === 24, 30_000);
    expect(counts).toMatchObject({
      total: 24,
      online: 24,
      bootstraps: 24,
      connects: 24,
      failedToStart: 0,
    });
    expect(maxInFlight).toBeLessThanOrEqual(4);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(summaryLine(counts, 1234)).toMatch(/^online 24\/24 · bootstrapping 0 · .* · 1\.2 s$/);

    await simulator.stop();
    expect(simulator.counts()).toMatchObject({ online: 0, stopped: 24 });
    expect(simulator.agents.every((agent) => agent.timers.pending === 0)).toBe(true);

    // The same folder again: every device resumes with its saved state, no bootstrap.
    const again = await startSimulator({
      factoryDir: factory.outDir,
      bootstrap: { url: bs.url, caPem: pki.serverRootPem },
      count: 24,
      timeScale: 0.01,
    });
    const resumed = await again.waitFor((c) => c.online === 24, 30_000);
    expect(resumed.bootstraps).toBe(0);
    await again.stop();
  });
});
