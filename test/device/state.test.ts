import { createPrivateKey } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyBootstrapOperations } from '../../src/device/bootstrap-ops.js';
import { createKeyAndCsr } from '../../src/device/est-client.js';
import { DeviceStore, type SaveStep } from '../../src/device/state.js';
import type { Instances } from '../../src/device/types.js';
import { isHomeportError } from '../../src/errors.js';
import { signCsr, toPemBundle } from '../../src/pki/index.js';
import { makeFactory, makeTestPki, type TestPki } from './fixtures.js';
import { memoryLogger, tempDir } from './helpers.js';

const MAC = '02:48:50:00:00:01';
const BS_URL = 'https://127.0.0.150:8884';

describe('device state', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: TestPki;
  let factoryDir: string;
  let folderNumber = 0;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    pki = await makeTestPki();
  });
  afterAll(async () => cleanup());

  beforeEach(async () => {
    // A fresh factory device for each test.
    const made = await makeFactory(join(dir, `run-${folderNumber++}`), 1);
    factoryDir = join(made.outDir, '02-48-50-00-00-01');
  });

  const bootstrap = () => ({ url: BS_URL, caPem: pki.serverRootPem });

  async function operationalCredential() {
    const request = createKeyAndCsr(MAC);
    const cert = await signCsr(pki.deviceIssuing, request.csrDer, {
      profile: 'device-client',
      endpoint: MAC,
    });
    return { keyPem: request.keyPem, certPem: toPemBundle([cert]) };
  }

  function msInstances(uri: string): Instances {
    return {
      '/0/1': { '0': uri, '1': false, '2': 4, '5': pki.serverRootPem, '10': 1 },
      '/1/0': { '0': 1, '1': 300, '16': true, '17': 2, '18': 1, '19': 2, '20': 2 },
    };
  }

  it('a first start without the Bootstrap Server URL and CA is refused', async () => {
    const error = await DeviceStore.open(factoryDir).catch((err: unknown) => err);
    expect(isHomeportError(error, 'DEVICE_STATE_INVALID')).toBe(true);
    expect((error as Error).message).toContain('--bootstrap');
    expect(await readdir(factoryDir)).not.toContain('state.json');
  });

  it('a Bootstrap Server URL that is not https://HOST:PORT is refused', async () => {
    const error = await DeviceStore.open(factoryDir, {
      bootstrap: { url: 'http://127.0.0.150:8884', caPem: pki.serverRootPem },
    }).catch((err: unknown) => err);
    expect(isHomeportError(error, 'DEVICE_STATE_INVALID')).toBe(true);
  });

  it('a folder that is not a factory device folder is refused, naming the missing file', async () => {
    const error = await DeviceStore.open(dir, { bootstrap: bootstrap() }).catch(
      (err: unknown) => err,
    );
    expect(isHomeportError(error, 'DEVICE_STATE_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/identity\.json: it is missing/);
  });

  it('the first start writes /0/0; a restart keeps it even when given another Bootstrap Server', async () => {
    const store = await DeviceStore.open(factoryDir, { bootstrap: bootstrap() });
    expect(store.instances['/0/0']).toEqual({
      '0': BS_URL,
      '1': true,
      '2': 2,
      '5': pki.serverRootPem,
      '11': 0,
    });

    const { logger, records } = memoryLogger();
    const reopened = await DeviceStore.open(factoryDir, {
      bootstrap: { url: 'https://127.0.0.151:8884', caPem: pki.serverRootPem },
      logger,
    });
    expect(reopened.instances['/0/0']['0']).toBe(BS_URL);
    expect(
      records.some(
        (r) => r.msg === 'the device keeps the bootstrap account it was first started with',
      ),
    ).toBe(true);
  });

  it('saving instances never drops or changes /0/0, whatever the caller passes', async () => {
    const store = await DeviceStore.open(factoryDir, { bootstrap: bootstrap() });
    await store.saveInstances({
      '/0/0': { '0': 'https://evil:1', '1': true },
      ...msInstances('mqtts://a:1'),
    });
    expect(store.instances['/0/0']['0']).toBe(BS_URL);
    await store.saveInstances(msInstances('mqtts://a:1'));
    const reopened = await DeviceStore.open(factoryDir);
    expect(reopened.instances['/0/0']['0']).toBe(BS_URL);
    expect(reopened.instances['/0/1']['0']).toBe('mqtts://a:1');
  });

  const steps: [SaveStep, 'old' | 'new'][] = [
    ['write-next-key', 'old'],
    ['write-next-cert', 'old'],
    ['commit-state', 'old'],
    ['install-key', 'new'],
    ['install-cert', 'new'],
  ];
  for (const [step, expected] of steps) {
    it(`a power cut before ${step} leaves the ${expected} state, whole, with /0/0`, async () => {
      const first = await operationalCredential();
      const store = await DeviceStore.open(factoryDir, { bootstrap: bootstrap() });
      await store.commitEnrollment(msInstances('mqtts://old:8883'), first, BS_URL);

      const second = await operationalCredential();
      const crashing = await DeviceStore.open(factoryDir, {
        beforeStep: (s) => {
          if (s === step) throw new Error(`power cut before ${s}`);
        },
      });
      await expect(
        crashing.commitEnrollment(msInstances('mqtts://new:8883'), second, BS_URL),
      ).rejects.toThrow('power cut');

      const after = await DeviceStore.open(factoryDir);
      const wanted = expected === 'old' ? first : second;
      expect(after.instances['/0/0']['0']).toBe(BS_URL);
      expect(after.instances['/0/1']['0']).toBe(`mqtts://${expected}:8883`);
      expect(after.operational?.certPem).toBe(wanted.certPem);
      expect(
        after.operational?.cert.checkPrivateKey(createPrivateKey(after.operational.keyPem)),
      ).toBe(true);
      expect(await readFile(join(factoryDir, 'operational.pem'), 'utf8')).toBe(wanted.certPem);
      expect((await readdir(factoryDir)).filter((n) => n.includes('next'))).toEqual([]);
    });
  }

  it('a power cut during the very first save leaves a folder that starts again', async () => {
    await expect(
      DeviceStore.open(factoryDir, {
        bootstrap: bootstrap(),
        beforeStep: () => {
          throw new Error('power cut');
        },
      }),
    ).rejects.toThrow('power cut');
    const store = await DeviceStore.open(factoryDir, { bootstrap: bootstrap() });
    expect(store.instances['/0/0']['0']).toBe(BS_URL);
  });

  it('temporary files a power cut left in the middle of a write are removed on open', async () => {
    await DeviceStore.open(factoryDir, { bootstrap: bootstrap() });
    await writeFile(join(factoryDir, '.state.json.0123456789ab.tmp'), '{"version":1,"endp');
    const store = await DeviceStore.open(factoryDir);
    expect(store.instances['/0/0']['0']).toBe(BS_URL);
    expect((await readdir(factoryDir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('an operational certificate whose file went missing is forgotten, so the device bootstraps again', async () => {
    const store = await DeviceStore.open(factoryDir, { bootstrap: bootstrap() });
    await store.commitEnrollment(msInstances('mqtts://a:1'), await operationalCredential(), BS_URL);
    await writeFile(join(factoryDir, 'operational.pem'), (await operationalCredential()).certPem);
    const reopened = await DeviceStore.open(factoryDir);
    expect(reopened.operational).toBeUndefined();
    expect(
      JSON.parse(await readFile(join(factoryDir, 'state.json'), 'utf8')).operational,
    ).toBeUndefined();
  });
});

describe('bootstrap operations never touch the bootstrap-server account', () => {
  const account = { '0': 'https://bs:8884', '1': true, '2': 2, '5': 'PEM', '11': 0 };
  const start: Instances = {
    '/0/0': account,
    '/0/1': { '0': 'mqtts://old:8883', '1': false, '10': 1 },
    '/1/0': { '0': 1, '1': 300 },
  };

  it('Bootstrap-Delete of /0/0 and Bootstrap-Write of /0/0 or /0/0/0 are logged and ignored', () => {
    const { logger, records } = memoryLogger();
    const result = applyBootstrapOperations(
      start,
      [
        { op: 'delete', path: '/0/0' },
        { op: 'write', path: '/0/0', value: { '0': 'https://evil:8884' } },
        { op: 'write', path: '/0/0/0', value: 'https://evil:8884' },
        { op: 'write', path: '/0/0/1', value: false },
        { op: 'finish' },
      ],
      logger,
    );
    expect(result.instances['/0/0']).toEqual(account);
    expect(result.ignored.map((i) => i.index)).toEqual([0, 1, 2, 3]);
    expect(result.ignored[0].reason).toContain('bootstrap-server account');
    expect(records.filter((r) => r.msg === 'ignored a bootstrap operation')).toHaveLength(4);
    // Never log the written values (trust anchors).
    expect(JSON.stringify(records)).not.toContain('evil');
  });

  it('an operation that would create a second bootstrap account is ignored', () => {
    const result = applyBootstrapOperations(
      start,
      [
        { op: 'write', path: '/0/2', value: { '0': 'https://other:8884', '1': true } },
        { op: 'write', path: '/0/1/1', value: true },
        { op: 'finish' },
      ],
      memoryLogger().logger,
    );
    expect(result.instances['/0/2']).toBeUndefined();
    expect(result.instances['/0/1']['1']).toBe(false);
    expect(result.ignored).toHaveLength(2);
  });

  it('Bootstrap-Delete of / or /0 removes everything but /0/0 (LwM2M Core §5.2.7.5)', () => {
    const all = applyBootstrapOperations(
      start,
      [{ op: 'delete', path: '/' }],
      memoryLogger().logger,
    );
    expect(Object.keys(all.instances)).toEqual(['/0/0']);
    expect(all.ignored).toEqual([]);
    const security = applyBootstrapOperations(
      start,
      [{ op: 'delete', path: '/0' }],
      memoryLogger().logger,
    );
    expect(Object.keys(security.instances).sort()).toEqual(['/0/0', '/1/0']);
  });

  it('malformed operations, other objects and operations after finish are ignored; the rest applies', () => {
    const result = applyBootstrapOperations(
      start,
      [
        { op: 'replace', path: '/0/1' },
        { op: 'write', path: '0/1', value: {} },
        { op: 'write', path: '/3/0', value: { '0': 'x' } },
        { op: 'write', path: '/0/1', value: { '0': ['not', 'scalar'] } },
        { op: 'delete', path: '/0/1' },
        { op: 'write', path: '/0/1', value: { '0': 'mqtts://new:8883', '1': false } },
        { op: 'finish' },
        { op: 'delete', path: '/1/0' },
      ],
      memoryLogger().logger,
    );
    expect(result.finished).toBe(true);
    expect(result.ignored.map((i) => i.index)).toEqual([0, 1, 2, 3, 7]);
    expect(result.instances['/0/1']).toEqual({ '0': 'mqtts://new:8883', '1': false });
    expect(result.instances['/1/0']).toEqual({ '0': 1, '1': 300 });
    expect(start['/0/1']['0']).toBe('mqtts://old:8883'); // the input is not modified
  });
});
