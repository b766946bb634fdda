import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HomeportError } from '../errors.js';
import type { Logger } from '../log.js';

export interface DataDirLock {
  release(): Promise<void>;
}

interface LockRecord {
  pid: number;
  startedAt: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readRecord(path: string): Promise<LockRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(path, 'utf8')) as Partial<LockRecord>;
    return typeof record.pid === 'number'
      ? { pid: record.pid, startedAt: String(record.startedAt) }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes sure one process at a time serves a data directory: two would each think they own the
 * store, the keys and the ports. The lock is a file naming the owner's pid; a lock whose owner
 * has died is taken over, with a warning.
 *
 * @example
 *   const lock = await lockDataDir('/var/lib/homeport', logger);
 *   // ... serve ...
 *   await lock.release();
 */
export async function lockDataDir(dataDir: string, logger: Logger): Promise<DataDirLock> {
  const path = join(dataDir, 'homeport.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      const record: LockRecord = { pid: process.pid, startedAt: new Date().toISOString() };
      await file.writeFile(JSON.stringify(record));
      await file.sync();
      await file.close();
      return { release: () => rm(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }

    const owner = await readRecord(path);
    if (owner && owner.pid !== process.pid && isAlive(owner.pid)) {
      throw new HomeportError(
        'DATA_DIR_LOCKED',
        `Cannot start: the data directory ${dataDir} is in use by process ${owner.pid} ` +
          `(running since ${owner.startedAt}). Stop that process first, or pass another --data.`,
      );
    }
    logger.warn(
      { path, stalePid: owner?.pid },
      'taking over a lock left by a process that is gone',
    );
    await rm(path, { force: true });
  }
  throw new HomeportError('DATA_DIR_LOCKED', `Cannot lock the data directory ${dataDir}; retry.`);
}
