import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ensurePrivateDirectory,
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  importPublicKeyPem,
  writeFileAtomic,
  writePrivateKeyFile,
} from '../../src/pki/index.js';
import { openssl, tempDir } from './helpers.js';

describe('key and file helpers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });

  afterEach(async () => cleanup());

  it('a private key file is 0600 even where the file already existed world-readable', async () => {
    const path = join(dir, 'keys', 'api.key');
    await mkdir(join(dir, 'keys'));
    await writeFile(path, 'old', { mode: 0o666 });
    const { privateKey } = await generateKeyPair();

    await writePrivateKeyFile(path, await exportPrivateKeyPem(privateKey));

    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('a private key file under missing directories creates them with mode 0700', async () => {
    const path = join(dir, 'a', 'b', 'token.key');
    await writePrivateKeyFile(path, 'pem');
    expect((await stat(join(dir, 'a', 'b'))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('an atomic write replaces the content and leaves no temporary file behind', async () => {
    const path = join(dir, 'state.json');
    await writeFileAtomic(path, '{"v":1}');
    await writeFileAtomic(path, new TextEncoder().encode('{"v":2}'), 0o640);
    expect(await readFile(path, 'utf8')).toBe('{"v":2}');
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('a failed atomic write leaves the old file intact and no temporary file', async () => {
    const path = join(dir, 'target');
    await mkdir(path);
    await expect(writeFileAtomic(path, 'x')).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect((await readdir(dir)).sort()).toEqual(['target']);
  });

  it('ensurePrivateDirectory sets 0700 on an existing directory', async () => {
    const path = join(dir, 'pki');
    await mkdir(path, { mode: 0o755 });
    await ensurePrivateDirectory(path);
    expect((await stat(path)).mode & 0o777).toBe(0o700);
  });

  it('keys round trip through PEM, and openssl reads the exported private key', async () => {
    const { privateKey, publicKey } = await generateKeyPair();
    const pem = await exportPrivateKeyPem(privateKey);
    expect(await openssl(['pkey', '-noout', '-text'], new TextEncoder().encode(pem))).toMatch(
      /NIST CURVE: P-256/,
    );

    const imported = await importPrivateKeyPem(pem);
    expect(await exportPrivateKeyPem(imported)).toBe(pem);
    const publicPem = await exportPublicKeyPem(publicKey);
    expect(await exportPublicKeyPem(await importPublicKeyPem(publicPem))).toBe(publicPem);
  });

  it('an EC key in the SEC 1 form openssl writes is accepted', async () => {
    const sec1 = await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout']);
    expect(sec1).toMatch(/BEGIN EC PRIVATE KEY/);
    const key = await importPrivateKeyPem(sec1);
    expect(key.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
  });

  it('an RSA key or garbage is refused with PEM_INVALID naming the source', async () => {
    const rsa = await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']);
    await expect(importPrivateKeyPem(rsa, 'key /x.key')).rejects.toMatchObject({
      code: 'PEM_INVALID',
      message:
        'Cannot read key /x.key: it is a key of type rsa; Homeport keys are ECDSA P-256 or P-384.',
    });
    await expect(importPrivateKeyPem('garbage')).rejects.toMatchObject({ code: 'PEM_INVALID' });
  });
});
