import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { importPrivateKeyPem, x509 } from '../../src/pki/index.js';

const exec = promisify(execFile);

export async function openssl(args: string[], input?: string): Promise<string> {
  if (input === undefined) return (await exec('openssl', args, { timeout: 20_000 })).stdout;
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { timeout: 20_000 }, (err, stdout) => {
      if (err)
        reject(Object.assign(new Error(`openssl ${args[0]} failed`, { cause: err }), { stdout }));
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

export interface CaFiles {
  key: string;
  cert: string;
}

/** A self-signed CA made by the openssl command line, as a manufacturer's would be. */
export async function makeCa(dir: string, name: string): Promise<CaFiles> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-out',
    cert,
    '-days',
    '3650',
    '-subj',
    `/O=${name}/CN=${name} CA`,
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { key, cert };
}

/**
 * A device certificate signed by `ca`, made with openssl: subject CN and serialNumber as a
 * factory writes them. `days` may be negative-ish through `expired` for an expired one.
 */
export async function makeDeviceCert(
  dir: string,
  ca: CaFiles,
  options: { name: string; cn: string; serial?: string; expired?: boolean },
): Promise<{ key: string; cert: string }> {
  const key = join(dir, `${options.name}.key`);
  const csr = join(dir, `${options.name}.csr`);
  const cert = join(dir, `${options.name}.pem`);
  const ext = join(dir, `${options.name}.ext`);
  const subject = `/O=Test Manufacturer/CN=${options.cn}${options.serial ? `/serialNumber=${options.serial}` : ''}`;
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await openssl(['req', '-new', '-key', key, '-out', csr, '-subj', subject]);
  await writeFile(
    ext,
    'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  if (options.expired) {
    await writeFile(cert, await signExpired(ca, key, options.cn, options.serial));
    return { key, cert };
  }
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    cert,
    '-extfile',
    ext,
    '-days',
    '365',
  ]);
  return { key, cert };
}

/** A PKCS#10 request for `cn` as EST wants it: base64 DER. Makes the key too. */
export async function makeCsr(
  dir: string,
  name: string,
  cn: string,
): Promise<{ key: string; body: string }> {
  const key = join(dir, `${name}.key`);
  const der = join(dir, `${name}.csr.der`);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await openssl(['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-outform', 'DER', '-out', der]);
  return { key, body: (await readFile(der)).toString('base64') };
}

// openssl 3.0's x509 command cannot back-date a certificate, so the expired one is made here.
async function signExpired(
  ca: CaFiles,
  keyFile: string,
  cn: string,
  serial: string | undefined,
): Promise<string> {
  const caKey = await importPrivateKeyPem(await readFile(ca.key, 'utf8'));
  const caCert = new x509.X509Certificate(await readFile(ca.cert, 'utf8'));
  const publicKeyPem = await openssl(['ec', '-in', keyFile, '-pubout']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '4a01',
    subject: [
      { O: ['Test Manufacturer'] },
      { CN: [cn] },
      ...(serial ? [{ '2.5.4.5': [serial] }] : []),
    ],
    issuer: caCert.subject,
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2021-01-01T00:00:00Z'),
    publicKey: await new x509.PublicKey(publicKeyPem).export(),
    signingKey: caKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  return cert.toString('pem');
}
