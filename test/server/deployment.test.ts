import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { DEFAULT_PORTS, startDeployment } from '../../src/server/deployment.js';
import { runCli, runCliToEnd } from '../helpers/cli.js';
import { ADMIN_PASSWORD, startTestDeployment } from '../helpers/deployment.js';
import { httpsClient } from '../helpers/http.js';

const exec = promisify(execFile);
let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'homeport-deploy-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('a deployment', () => {
  it('restarts with the same PKI, the same data and the same admin', async () => {
    const dataDir = join(scratch, 'restart');
    const first = await startTestDeployment({ dataDir, name: 'Restart' });
    const token = await first.login('admin', ADMIN_PASSWORD);
    await first.api('POST', '/api/companies', { token, json: { name: 'Kept' } });
    const fingerprint = first.deployment.pki.serverRootFingerprint;
    const rootKey = await readFile(join(dataDir, 'pki', 'server-root.key'), 'utf8');
    await first.stop();

    const second = await startTestDeployment({ dataDir });
    try {
      expect(second.deployment.pki.serverRootFingerprint).toBe(fingerprint);
      expect(await readFile(join(dataDir, 'pki', 'server-root.key'), 'utf8')).toBe(rootKey);
      expect(second.deployment.info.name).toBe('Restart');
      const again = await second.login('admin', ADMIN_PASSWORD);
      const r = await second.api('GET', '/api/companies', { token: again });
      expect(r.body.data.map((c: { name: string }) => c.name)).toEqual(['Kept']);
      // The signing key survived too: the first run's token is still good.
      expect((await second.api('GET', '/api/companies', { token })).status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it('keeps private keys at mode 0600', async () => {
    const d = await startTestDeployment();
    try {
      for (const key of ['pki/server-root.key', 'pki/device-root.key', 'keys/api-token.key']) {
        const mode = (await stat(join(d.dataDir, key))).mode & 0o777;
        expect({ key, mode: mode.toString(8) }).toEqual({ key, mode: '600' });
      }
    } finally {
      await d.stop();
    }
  });

  it('runs three deployments side by side on 127.0.0.1/2/3 with the default ports', async () => {
    const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
    const all = await Promise.all(
      hosts.map((host) =>
        startDeployment({
          dataDir: join(scratch, `side-${host}`),
          host,
          ports: DEFAULT_PORTS,
          adminPassword: ADMIN_PASSWORD,
          logger: silentLogger(),
        }),
      ),
    );
    try {
      const fingerprints = new Set<string>();
      for (const [i, d] of all.entries()) {
        expect(d.info.services.api.url).toBe(`https://${hosts[i]}:8443`);
        const root = await readFile(
          join(scratch, `side-${hosts[i]}`, 'pki', 'server-root.pem'),
          'utf8',
        );
        const r = await httpsClient(d.info.services.api.url, root)('GET', '/api/info');
        expect(r.body.data.services.bootstrap.url).toBe(`https://${hosts[i]}:8884`);
        fingerprints.add(r.body.data.server_root_fingerprint);
      }
      expect(fingerprints.size).toBe(3);
    } finally {
      await Promise.all(all.map((d) => d.close()));
    }
  });

  it('Management Server asks for a client certificate and names the device CAs', async () => {
    const d = await startTestDeployment();
    try {
      const { port } = d.deployment.info.services.management;
      const { stdout } = await exec(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${port}`,
          '-CAfile',
          join(d.dataDir, 'pki', 'server-root.pem'),
          '-tls1_2',
        ],
        { timeout: 10_000 },
      ).catch((err: { stdout: string }) => err);
      expect(stdout).toContain('Acceptable client certificate CA names');
      expect(stdout).toContain('Homeport Device Root CA');
      expect(stdout).toContain('Verify return code: 0 (ok)');
    } finally {
      await d.stop();
    }
  });
});

describe('homeport server (the CLI)', () => {
  const portsArgs = [
    '--api-port',
    '0',
    '--bootstrap-port',
    '0',
    '--management-port',
    '0',
    '--content-port',
    '0',
  ];

  it('serves curl with --cacert, refuses a second process on the same data, and stops on SIGTERM', async () => {
    const dataDir = join(scratch, 'cli');
    const server = runCli(
      ['server', '--data', dataDir, '--host', '127.0.0.4', '--json', ...portsArgs],
      {
        HOMEPORT_ADMIN_PASSWORD: ADMIN_PASSWORD,
      },
    );
    const ready = (await server.ready) as { services: { api: { url: string } } };
    const api = ready.services.api.url;
    const ca = join(dataDir, 'pki', 'server-root.pem');

    const token = await exec('curl', [
      '-sS',
      '--cacert',
      ca,
      '-d',
      'grant_type=password',
      '-d',
      'username=admin',
      '-d',
      `password=${ADMIN_PASSWORD}`,
      '-d',
      'client_id=curl',
      `${api}/public/auth/connect/token`,
    ]);
    const accessToken = (JSON.parse(token.stdout) as { access_token: string }).access_token;
    const list = await exec('curl', [
      '-sS',
      '--cacert',
      ca,
      '-H',
      `Authorization: Bearer ${accessToken}`,
      `${api}/api/companies`,
    ]);
    expect(JSON.parse(list.stdout)).toEqual({ data: [], total_items: 0, success: true });

    const second = await runCliToEnd([
      'server',
      '--data',
      dataDir,
      '--host',
      '127.0.0.4',
      ...portsArgs,
    ]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`in use by process ${server.child.pid}`);

    const logLines = server
      .stderr()
      .split('\n')
      .filter((l) => l.includes('listening on'));
    expect(logLines).toHaveLength(4);

    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    await expect(stat(join(dataDir, 'homeport.lock'))).rejects.toThrow();
  });

  it('prints the generated admin password once when none is given', async () => {
    const dataDir = join(scratch, 'generated');
    const first = runCli([
      'server',
      '--data',
      dataDir,
      '--json',
      '--host',
      '127.0.0.5',
      ...portsArgs,
    ]);
    const ready = (await first.ready) as { admin?: { username: string; password: string } };
    expect(ready.admin?.username).toBe('admin');
    expect(ready.admin?.password).toMatch(/^\S{24}$/);
    expect(first.stderr()).not.toContain(ready.admin?.password ?? '');
    first.child.kill('SIGINT');
    expect(await first.exit).toBe(0);

    const again = runCli([
      'server',
      '--data',
      dataDir,
      '--json',
      '--host',
      '127.0.0.5',
      ...portsArgs,
    ]);
    expect(await again.ready).not.toHaveProperty('admin');
    again.child.kill('SIGTERM');
    expect(await again.exit).toBe(0);
  });

  it('rejects bad flags with what to do', async () => {
    const port = await runCliToEnd(['server', '--api-port', 'eighty']);
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain('is not a port');
    const db = await runCliToEnd(['server', '--database', 'mysql://x']);
    expect(db.stderr).toContain('not a PostgreSQL URL');
    const rate = await runCliToEnd(['server', '--bootstrap-rate', '0']);
    expect(rate.stderr).toContain('--bootstrap-rate takes a number above 0');
    const help = await runCliToEnd(['server', '--help']);
    expect(help.stdout).toContain('Examples:');
  });
});
