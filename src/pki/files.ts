import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Mode of every private key file: readable and writable by the owner only. */
export const PRIVATE_KEY_MODE = 0o600;

/** Mode of directories that hold private keys. */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Writes a file so that a reader, or a restart after a power cut, sees either the old content
 * or the new one, never a mix: the data goes to a temporary file in the same directory, is
 * flushed to disk, renamed over the target, and the directory entry is flushed too. The file
 * gets exactly `mode` whatever the umask. Missing parent directories are created with mode 0700.
 *
 * @example
 *   await writeFileAtomic('/var/lib/homeport/pki/server-root.pem', pem, 0o644);
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);

  try {
    await writeAndSync(temp, data, mode);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }

  await syncDirectory(dir);
}

/**
 * Writes a PEM private key atomically with mode 0600. The mode is set when the file is opened
 * and again before the key is written, so a permissive umask never exposes the key.
 *
 * @example
 *   await writePrivateKeyFile(join(pkiDir, 'server-root.key'), await exportPrivateKeyPem(key));
 */
export async function writePrivateKeyFile(path: string, pem: string): Promise<void> {
  await writeFileAtomic(path, pem, PRIVATE_KEY_MODE);
}

/**
 * Creates a directory (and its parents) and sets its mode, whatever the umask.
 *
 * @example
 *   await ensurePrivateDirectory(pkiDir); // drwx------
 */
export async function ensurePrivateDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(path, PRIVATE_DIR_MODE);
}

/**
 * Flushes a directory's entries to disk, so that a rename or a new file inside it survives a
 * power cut.
 *
 * @example
 *   await rename(staging, pkiDir);
 *   await syncDirectory(dirname(pkiDir));
 */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAndSync(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  // 'wx': never follow or reuse a file someone else placed at the temporary name.
  const handle = await open(path, 'wx', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
