import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Deployment } from '../../src/server/deployment.js';
import { makeCsr, openssl } from './openssl.js';

const exec = promisify(execFile);

export interface Credential {
  key: string;
  cert: string;
}

/**
 * Enrolls a device over EST with curl and openssl alone, as a third-party client would:
 * a key and CSR from openssl, `simpleenroll` with the factory certificate, the PKCS#7 answer
 * turned into a PEM file.
 */
export async function enrollWithCurl(
  deployment: Deployment,
  dataDir: string,
  dir: string,
  factory: Credential,
  mac: string,
): Promise<Credential> {
  const name = `op-${mac.replace(/:/g, '')}-${Date.now()}`;
  const csr = await makeCsr(dir, name, mac);
  const { stdout } = await exec('curl', [
    '-sS',
    '--fail-with-body',
    '--cacert',
    join(dataDir, 'pki', 'server-root.pem'),
    '--cert',
    factory.cert,
    '--key',
    factory.key,
    '-H',
    'content-type: application/pkcs10',
    '--data-binary',
    csr.body,
    `${deployment.info.services.bootstrap.url}/.well-known/est/simpleenroll`,
  ]);
  const p7 = join(dir, `${name}.p7`);
  await writeFile(p7, Buffer.from(stdout, 'base64'));
  const cert = join(dir, `${name}.pem`);
  await writeFile(cert, await openssl(['pkcs7', '-inform', 'DER', '-in', p7, '-print_certs']));
  return { key: csr.key, cert };
}
