import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import { editConfig, homeport, login, readConfig } from './run.js';

let d: TestDeployment;
let scratch: string;
let url: string;
let ca: string;
let n = 0;
/** A fresh profile file per test, in a directory that does not exist yet. */
const freshConfig = () => join(scratch, `home-${++n}`, 'homeport', 'config.json');

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'homeport-cli-login-'));
  d = await startTestDeployment({ host: '127.0.0.210', name: 'Server Ten' });
  url = d.deployment.info.services.api.url;
  ca = join(d.dataDir, 'pki', 'server-root.pem');
});
afterAll(async () => {
  await d.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('homeport login', () => {
  it('refuses a wrong password with the server message and saves nothing', async () => {
    const config = freshConfig();
    const r = await login(config, 'ten', url, 'not-the-password', ['--ca', ca]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^homeport: ten: log in as admin: The username or password is wrong/);
    expect(r.stderr).not.toContain('    at ');
    await expect(stat(config)).rejects.toThrow();
  });

  it('refuses a server whose certificate it cannot verify, and says to pass --ca', async () => {
    const r = await login(freshConfig(), 'ten', url, ADMIN_PASSWORD);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('certificate is not trusted');
    expect(r.stderr).toContain('--ca');
  });

  it('refuses a plain http URL, a URL with a path and a bad profile name before connecting', async () => {
    const http = await login(freshConfig(), 'ten', url.replace('https', 'http'), 'x');
    expect(http.code).not.toBe(0);
    expect(http.stderr).toContain('is not an https:// URL');
    const path = await login(freshConfig(), 'ten', `${url}/api`, 'x');
    expect(path.stderr).toContain('give only https://HOST:PORT');
    const name = await login(freshConfig(), 'a/b', url, 'x');
    expect(name.stderr).toContain("'a/b' cannot name a profile");
  });

  it('keeps the profile at mode 0600 in a 0700 directory, with the PEM text of the CA', async () => {
    const config = freshConfig();
    const r = await login(config, 'ten', url, ADMIN_PASSWORD, ['--ca', ca]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Logged in to ten \(Server Ten\) as admin; token valid until \d{4}-\d\d-\d\dT[\d:.]+Z\./,
    );

    expect(((await stat(config)).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(join(config, '..'))).mode & 0o777).toString(8)).toBe('700');
    const saved = await readConfig(config);
    expect(saved.version).toBe(1);
    expect(saved.last).toBe('ten');
    expect(saved.servers.ten).toMatchObject({
      url,
      username: 'admin',
      ca: d.serverRoot.trim() + '\n',
      password: ADMIN_PASSWORD,
    });
    expect(Date.parse(saved.servers.ten.tokenExpiresAt)).toBeGreaterThan(Date.now());
  });

  it('prints JSON with --json and takes --password too', async () => {
    const config = freshConfig();
    const r = await homeport(config, [
      'login',
      'ten',
      '--url',
      url,
      '--username',
      'admin',
      '--password',
      ADMIN_PASSWORD,
      '--ca',
      ca,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      server: 'ten',
      deployment: 'Server Ten',
      url,
      username: 'admin',
      config,
    });
  });

  it('reuses a valid token, and renews an expired or revoked one transparently', async () => {
    const config = freshConfig();
    await login(config, 'ten', url, ADMIN_PASSWORD, ['--ca', ca]);
    const csv = join(scratch, 'one.csv');
    const importOne = (mac: string) =>
      writeFile(csv, `Alias,Serial No,MAC\nTokens,SN-${mac},${mac}\n`).then(() =>
        homeport(config, ['devices', 'import', csv]),
      );
    const first = (await readConfig(config)).servers.ten;

    const reused = await importOne('02:00:00:00:10:01');
    expect(reused.code).toBe(0);
    expect((await readConfig(config)).servers.ten.token).toBe(first.token);

    // Expired, as a profile left overnight would be.
    await editConfig(config, (c) => (c.servers.ten.tokenExpiresAt = '2020-01-01T00:00:00.000Z'));
    const renewed = await importOne('02:00:00:00:10:02');
    expect(renewed.stderr).toBe('');
    expect(renewed.stdout).toContain('02:00:00:00:10:02: created');
    const afterExpiry = (await readConfig(config)).servers.ten;
    expect(Date.parse(afterExpiry.tokenExpiresAt)).toBeGreaterThan(Date.now());

    // Looks valid here, but the server refuses it: one 401, one new login, one retry.
    await editConfig(config, (c) => (c.servers.ten.token = 'not-a-token'));
    const retried = await importOne('02:00:00:00:10:03');
    expect(retried.stdout).toContain('02:00:00:00:10:03: created');
    expect((await readConfig(config)).servers.ten.token).not.toBe('not-a-token');
  });

  it('asks for a new login when the token expired and no password is stored', async () => {
    const config = freshConfig();
    await login(config, 'ten', url, ADMIN_PASSWORD, ['--ca', ca]);
    await editConfig(config, (c) => {
      c.servers.ten.tokenExpiresAt = '2020-01-01T00:00:00.000Z';
      delete c.servers.ten.password;
    });
    const csv = join(scratch, 'none.csv');
    await writeFile(csv, 'Serial No,MAC\nS,02:00:00:00:10:09\n');
    const r = await homeport(config, ['devices', 'import', csv]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The token for ten has expired and no password is stored');
    expect(r.stderr).toContain(`homeport login ten --url ${url}`);
  });
});

describe('homeport servers', () => {
  it("lists each deployment's addresses and an unreachable profile without failing", async () => {
    const config = freshConfig();
    await login(config, 'ten', url, ADMIN_PASSWORD, ['--ca', ca]);
    await editConfig(config, (c) => {
      c.servers.gone = { url: 'https://127.0.0.211:1', username: 'admin' };
    });

    const r = await homeport(config, ['servers']);
    expect(r.code).toBe(0);
    const [header, ...lines] = r.stdout.split('\n');
    expect(header).toMatch(/^ +NAME +DEPLOYMENT +API +BOOTSTRAP +MANAGEMENT +CONTENT$/);
    const { services } = d.deployment.info;
    const gone = lines.find((l) => l.includes('gone')) ?? '';
    const ten = lines.find((l) => l.includes('ten')) ?? '';
    expect(gone).toMatch(/^ +gone +- +https:\/\/127\.0\.0\.211:1 +unreachable: .*refused/);
    expect(ten).toMatch(/^\* +ten +Server Ten/);
    for (const s of [services.api, services.bootstrap, services.management, services.content]) {
      expect(ten).toContain(s.url);
    }

    const json = await homeport(config, ['servers', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ name: 'gone', reachable: false, default: false, services: null }),
      expect.objectContaining({
        name: 'ten',
        default: true,
        reachable: true,
        deployment: 'Server Ten',
        services: {
          api: services.api.url,
          bootstrap: services.bootstrap.url,
          management: services.management.url,
          content: services.content.url,
        },
        server_root_fingerprint: d.deployment.info.serverRootFingerprint,
        error: null,
      }),
    ]);
  });

  it('says how to log in when there are no profiles', async () => {
    const r = await homeport(freshConfig(), ['servers']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('No server profiles');
    expect(JSON.parse((await homeport(freshConfig(), ['servers', '--json'])).stdout)).toEqual([]);
  });

  it('names the file and the fix when the profile file is corrupt', async () => {
    const config = join(scratch, 'corrupt.json');
    await writeFile(config, '{"version": 1, "servers": ');
    const r = await homeport(config, ['servers']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^homeport: Cannot use the server profiles in ${config}: it is not JSON`),
    );
    expect(r.stderr).toContain("log in again with 'homeport login'");
  });
});
