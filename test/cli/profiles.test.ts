import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configPath,
  readProfiles,
  resolveProfile,
  saveLogin,
  updateProfiles,
} from '../../src/cli/profiles.js';
import { isHomeportError } from '../../src/errors.js';

let scratch: string;
let n = 0;
const fresh = () => join(scratch, `p-${++n}.json`);
const profile = (name: string) => ({ name, url: `https://${name}.example:8443`, username: 'ops' });

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'homeport-profiles-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isHomeportError(err)).toBe(true);
  return err as Error;
}

describe('server profiles', () => {
  it('live in $HOMEPORT_CONFIG, else under $XDG_CONFIG_HOME or ~/.config', () => {
    expect(configPath({ HOMEPORT_CONFIG: '/x/c.json' })).toBe('/x/c.json');
    expect(configPath({ XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/homeport/config.json');
    expect(configPath({})).toBe(join(homedir(), '.config', 'homeport', 'config.json'));
  });

  it('default to the only profile, else to the one logged in to last', async () => {
    const file = fresh();
    await expect(refusal(resolveProfile(undefined, file))).resolves.toMatchObject({
      code: 'PROFILE_NOT_FOUND',
    });
    await saveLogin(profile('one'), file);
    expect((await resolveProfile(undefined, file)).name).toBe('one');
    await saveLogin(profile('two'), file);
    expect((await resolveProfile(undefined, file)).name).toBe('two');
    expect((await resolveProfile('one', file)).url).toBe('https://one.example:8443');

    await updateProfiles(file, (p) => delete p.last);
    const none = await refusal(resolveProfile(undefined, file));
    expect(none.message).toContain('several server profiles (one, two)');
    expect(none.message).toContain('--server NAME');
    const unknown = await refusal(resolveProfile('three', file));
    expect(unknown.message).toContain("no server profile 'three'; known profiles: one, two");
  });

  it('treat names such as constructor and __proto__ as plain names', async () => {
    const file = fresh();
    expect((await refusal(resolveProfile('constructor', file))).message).toContain('no server');
    await saveLogin(profile('__proto__'), file);
    await saveLogin(profile('constructor'), file);
    expect(Object.keys((await readProfiles(file)).servers)).toEqual(['__proto__', 'constructor']);
    expect((await resolveProfile('__proto__', file)).url).toBe('https://__proto__.example:8443');
  });

  it('keep every change made in parallel, in a file of mode 0600', async () => {
    const file = fresh();
    await Promise.all(['a', 'b', 'c', 'd'].map((name) => saveLogin(profile(name), file)));
    expect(Object.keys((await readProfiles(file)).servers).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
  });

  it('refuse a damaged file, naming the file and the field', async () => {
    const file = fresh();
    const cases: [string, string][] = [
      ['[]', 'it is not a JSON object'],
      ['{"version": 2, "servers": {}}', 'its version is 2, expected 1'],
      ['{"version": 1}', "'servers' must be an object"],
      ['{"version": 1, "servers": {"a": {"url": "https://a"}}}', 'servers.a.username must be'],
      ['{"version": 1, "servers": {"a b": {}}}', "'a b' is not a valid profile name"],
      ['{"version": 1, "servers": {"a": {"url": "u", "username": "u", "ca": 3}}}', 'servers.a.ca'],
    ];
    for (const [text, why] of cases) {
      await writeFile(file, text);
      const err = await refusal(readProfiles(file));
      expect(err.message).toContain(`Cannot use the server profiles in ${file}: ${why}`);
    }
  });
});
