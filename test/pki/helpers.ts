import { execFile } from 'node:child_process';
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as pkijs from 'pkijs';
import { toPemBundle, type x509 } from '../../src/pki/index.js';

const run = promisify(execFile);

/** Runs openssl and returns its stdout; rejects with stderr when it exits non-zero. */
export async function openssl(args: string[], input?: Uint8Array): Promise<string> {
  if (input === undefined) {
    const { stdout } = await run('openssl', args, { encoding: 'utf8' });
    return stdout;
  }

  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args.join(' ')} failed: ${stderr}`));
      else resolve(stdout);
    });
    child.stdin?.end(Buffer.from(input));
  });
}

/** `openssl verify` of a leaf against a root, with intermediates as untrusted; returns stdout. */
export async function opensslVerify(
  dir: string,
  root: x509.X509Certificate,
  intermediates: x509.X509Certificate[],
  leaf: x509.X509Certificate,
  extra: string[] = [],
): Promise<string> {
  const rootPath = await writePem(dir, 'root.pem', [root]);
  const leafPath = await writePem(dir, 'leaf.pem', [leaf]);
  const untrusted =
    intermediates.length === 0
      ? []
      : ['-untrusted', await writePem(dir, 'untrusted.pem', intermediates)];
  return openssl(['verify', ...extra, '-CAfile', rootPath, ...untrusted, leafPath]);
}

/** `openssl x509 -text` of a certificate. */
export async function opensslText(cert: x509.X509Certificate): Promise<string> {
  return openssl(['x509', '-noout', '-text'], new TextEncoder().encode(toPemBundle([cert])));
}

export async function writePem(
  dir: string,
  name: string,
  certs: x509.X509Certificate[],
): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, toPemBundle(certs));
  return path;
}

/** Node's view of a certificate, for verify/checkIssued and serial checks. */
export function nodeCert(cert: x509.X509Certificate): NodeX509Certificate {
  return new NodeX509Certificate(Buffer.from(cert.rawData));
}

/** A fresh temporary directory and a function that removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'homeport-pki-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The content octets of a certificate's serialNumber INTEGER, exactly as DER holds them. */
export function serialOctets(cert: x509.X509Certificate): Uint8Array {
  const parsed = pkijs.Certificate.fromBER(new Uint8Array(cert.rawData));
  return parsed.serialNumber.valueBlock.valueHexView;
}
