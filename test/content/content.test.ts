import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRange } from '../../src/content/server.js';
import { startTestDeployment, type TestDeployment } from '../helpers/deployment.js';

const exec = promisify(execFile);
let d: TestDeployment;
let url: string;
const body = Buffer.from('0123456789abcdefghij');

beforeAll(async () => {
  d = await startTestDeployment();
  await mkdir(join(d.dataDir, 'content', 'firmware'), { recursive: true });
  await writeFile(join(d.dataDir, 'content', 'firmware', 'image.bin'), body);
  url = d.deployment.info.services.content.url;
});
afterAll(async () => {
  await d?.stop();
});

const curl = (...args: string[]) =>
  exec('curl', ['-sS', '--cacert', join(d.dataDir, 'pki', 'server-root.pem'), ...args]);

describe('Content Server', () => {
  it('serves a whole file and a byte range that resumes a download', async () => {
    expect((await curl(`${url}/firmware/image.bin`)).stdout).toBe(body.toString());
    const part = await curl('-i', '-r', '5-9', `${url}/firmware/image.bin`);
    expect(part.stdout).toMatch(/^HTTP\/1\.1 206/);
    expect(part.stdout).toContain('content-range: bytes 5-9/20');
    expect(part.stdout.endsWith('56789')).toBe(true);
  });

  it('answers 416 for a range past the end and 404 outside its folder', async () => {
    const past = await curl(
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-r',
      '50-60',
      `${url}/firmware/image.bin`,
    );
    expect(past.stdout).toBe('416');
    const escape = await curl(
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--path-as-is',
      `${url}/../pki/server-root.key`,
    );
    expect(escape.stdout).toBe('404');
    const bad = await curl('-o', '/dev/null', '-w', '%{http_code}', `${url}/%E0%A4%A`);
    expect(bad.stdout).toBe('404');
  });

  it('parses single ranges as RFC 9110 says', () => {
    expect(parseRange('bytes=0-', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=4-100', 10)).toEqual({ start: 4, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,4-5', 10)).toBeUndefined();
    expect(parseRange(undefined, 10)).toBeUndefined();
  });
});
