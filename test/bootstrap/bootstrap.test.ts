import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployment, type TestDeployment } from '../helpers/deployment.js';
import { makeCa, makeCsr, makeDeviceCert, openssl, type CaFiles } from '../helpers/openssl.js';

const exec = promisify(execFile);
const MAC = '02:48:50:00:00:01';
const SERIAL = 'HP000001';

let d: TestDeployment;
let dir: string;
let maker: CaFiles;
let factory: { key: string; cert: string };
let bs: string;
let caFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'homeport-bs-'));
  maker = await makeCa(dir, 'Maker');
  factory = await makeDeviceCert(dir, maker, { name: 'factory', cn: MAC, serial: SERIAL });
  d = await startTestDeployment({
    host: '127.0.0.61',
    manufacturerCas: [await readFile(maker.cert, 'utf8')],
  });
  await d.deployment.repo.createDevice({ mac: MAC, alias: 'first', serialNumber: SERIAL });
  bs = d.deployment.info.services.bootstrap.url;
  caFile = join(d.dataDir, 'pki', 'server-root.pem');
});
afterAll(async () => {
  await d?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** curl with the deployment's server root pinned; answers status and body. */
async function curl(
  path: string,
  options: { cert?: { key: string; cert: string }; args?: string[] } = {},
) {
  const creds = options.cert ? ['--cert', options.cert.cert, '--key', options.cert.key] : [];
  const { stdout } = await exec('curl', [
    '-sS',
    '--cacert',
    caFile,
    ...creds,
    '-w',
    '\n%{http_code}',
    ...(options.args ?? []),
    `${bs}${path}`,
  ]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

const bootstrap = (cert: { key: string; cert: string } | undefined, ep = MAC) =>
  curl(`/bs?ep=${encodeURIComponent(ep)}`, {
    ...(cert && { cert }),
    args: ['-X', 'POST', '-H', 'content-type: application/json', '-d', '{"reason":"initial"}'],
  });

async function enroll(cert: { key: string; cert: string }, operation: string, cn = MAC) {
  const csr = await makeCsr(dir, `csr-${operation}-${Date.now()}`, cn);
  const reply = await curl(`/.well-known/est/${operation}`, {
    cert,
    args: ['-H', 'content-type: application/pkcs10', '--data-binary', csr.body],
  });
  return { ...reply, key: csr.key };
}

/** Decodes an EST certs-only answer with openssl and writes the first certificate to a file. */
async function certificateFrom(body: string, name: string): Promise<string> {
  const der = join(dir, `${name}.p7`);
  await writeFile(der, Buffer.from(body, 'base64'));
  const pem = await openssl(['pkcs7', '-inform', 'DER', '-in', der, '-print_certs']);
  const file = join(dir, `${name}.pem`);
  await writeFile(file, pem);
  return file;
}

describe('Bootstrap-Request', () => {
  it('sends a registered device with a trusted factory certificate to the co-located MS', async () => {
    const r = await bootstrap(factory);
    expect(r.status).toBe(200);
    const answer = JSON.parse(r.body);
    const paths = answer.operations.map(
      (o: { op: string; path?: string }) => `${o.op} ${o.path ?? ''}`,
    );
    expect(paths).toEqual(['delete /0/1', 'delete /1/0', 'write /0/1', 'write /1/0', 'finish ']);
    expect(paths.some((p: string) => p.includes('/0/0'))).toBe(false);
    const account = answer.operations[2].value;
    expect(account['0']).toBe(d.deployment.info.services.management.url);
    expect(account['2']).toBe(4);
    expect(account['5']).toBe(d.serverRoot);
    expect(answer.est).toEqual({ path: '/.well-known/est', reenroll: false });
  });

  it('tells an unregistered device that it is unregistered', async () => {
    const stranger = await makeDeviceCert(dir, maker, {
      name: 'stranger',
      cn: '02:48:50:00:00:99',
      serial: 'X',
    });
    const r = await bootstrap(stranger, '02:48:50:00:00:99');
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'DEVICE_NOT_REGISTERED' });
    expect(r.body).toContain('not registered');
  });

  it('refuses a factory certificate from an untrusted manufacturer', async () => {
    const rogue = await makeCa(dir, 'Rogue');
    const cert = await makeDeviceCert(dir, rogue, { name: 'rogue-dev', cn: MAC, serial: SERIAL });
    const r = await bootstrap(cert);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).code).toBe('DEVICE_CERT_UNTRUSTED');
  });

  it('refuses a certificate for another endpoint, and a serial that does not match', async () => {
    const other = await bootstrap(factory, '02:48:50:00:00:02');
    expect(other.status).toBe(403);
    expect(JSON.parse(other.body).code).toBe('DEVICE_CERT_MISMATCH');
    const wrongSerial = await makeDeviceCert(dir, maker, {
      name: 'wrong-serial',
      cn: MAC,
      serial: 'HP999',
    });
    const r = await bootstrap(wrongSerial);
    expect(r.status).toBe(403);
    expect(r.body).toContain('HP999');
  });

  it('refuses an expired factory certificate and says so', async () => {
    const old = await makeDeviceCert(dir, maker, {
      name: 'expired',
      cn: MAC,
      serial: SERIAL,
      expired: true,
    });
    const r = await bootstrap(old);
    expect(r.status).toBe(403);
    expect(r.body).toContain('expired');
  });

  it('asks for a client certificate when there is none', async () => {
    const r = await bootstrap(undefined);
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).code).toBe('DEVICE_CERT_REQUIRED');
  });
});

describe('EST', () => {
  it('cacerts is a certs-only PKCS#7 that openssl reads: the device issuing CA and root', async () => {
    const r = await curl('/.well-known/est/cacerts');
    expect(r.status).toBe(200);
    const file = await certificateFrom(r.body, 'cacerts');
    const text = await readFile(file, 'utf8');
    expect(text.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(text).toContain('Homeport Device Issuing CA');
  });

  it('csrattrs asks for ECDSA with SHA-256 on P-256', async () => {
    const r = await curl('/.well-known/est/csrattrs');
    const der = join(dir, 'csrattrs.der');
    await writeFile(der, Buffer.from(r.body, 'base64'));
    const parsed = await openssl(['asn1parse', '-inform', 'DER', '-in', der]);
    expect(parsed).toContain('ecdsa-with-SHA256');
    expect(parsed).toContain('prime256v1');
  });

  it('enrolls a device with its factory certificate, then re-enrolls it with the new one', async () => {
    const first = await enroll(factory, 'simpleenroll');
    expect(first.status).toBe(200);
    const certFile = await certificateFrom(first.body, 'operational');
    const chain = await certificateFrom((await curl('/.well-known/est/cacerts')).body, 'chain');
    const verified = await openssl(['verify', '-CAfile', chain, certFile]);
    expect(verified).toContain(': OK');
    const subject = await openssl(['x509', '-in', certFile, '-noout', '-subject', '-serial']);
    expect(subject).toContain(`CN = ${MAC}`);

    const operational = { key: first.key, cert: certFile };
    const again = await bootstrap(operational);
    expect(JSON.parse(again.body).est.reenroll).toBe(true);
    const renewed = await enroll(operational, 'simplereenroll');
    expect(renewed.status).toBe(200);
    const renewedFile = await certificateFrom(renewed.body, 'renewed');
    const serials = await Promise.all(
      [certFile, renewedFile].map((f) => openssl(['x509', '-in', f, '-noout', '-serial'])),
    );
    expect(serials[0]).not.toBe(serials[1]);
    expect(await openssl(['x509', '-in', renewedFile, '-noout', '-subject'])).toContain(
      `CN = ${MAC}`,
    );

    const recorded = await d.deployment.repo.latestCertificate(MAC);
    expect(recorded?.serial).toBe(
      serials[1]
        ?.trim()
        .split('=')[1]
        ?.toLowerCase()
        .replace(/^(00)+/, ''),
    );
  });

  it('refuses a re-enrollment made with the factory certificate, and a CSR for another CN', async () => {
    const reenroll = await enroll(factory, 'simplereenroll');
    expect(reenroll.status).toBe(403);
    const otherCn = await enroll(factory, 'simpleenroll', '02:48:50:00:00:07');
    expect(otherCn.status).toBe(400);
    expect(JSON.parse(otherCn.body).code).toBe('CSR_SUBJECT_MISMATCH');
  });

  it('refuses a revoked operational certificate', async () => {
    const issued = await enroll(factory, 'simpleenroll');
    const certFile = await certificateFrom(issued.body, 'to-revoke');
    const latest = await d.deployment.repo.latestCertificate(MAC);
    await d.deployment.repo.revokeCertificate(latest!.serial, new Date().toISOString());
    const r = await bootstrap({ key: issued.key, cert: certFile });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).code).toBe('DEVICE_CERT_REVOKED');
  });
});

describe('client hold-off', () => {
  it('tells devices past the burst to come back later, at spread-out times', async () => {
    const small = await startTestDeployment({
      host: '127.0.0.62',
      manufacturerCas: [await readFile(maker.cert, 'utf8')],
      bootstrapPolicy: { admitPerSecond: 0.001, admitBurst: 2, holdOffSpread: 30 },
    });
    try {
      await small.deployment.repo.createDevice({ mac: MAC, alias: 'x', serialNumber: SERIAL });
      bs = small.deployment.info.services.bootstrap.url;
      caFile = join(small.dataDir, 'pki', 'server-root.pem');
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await bootstrap(factory)).status);
      expect(statuses).toEqual([200, 200, 503]);
      const held = await curl(`/bs?ep=${MAC}`, { cert: factory, args: ['-X', 'POST', '-i'] });
      const retryAfter = Number(/retry-after: (\d+)/i.exec(held.body)?.[1]);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(30);
    } finally {
      bs = d.deployment.info.services.bootstrap.url;
      caFile = join(d.dataDir, 'pki', 'server-root.pem');
      await small.stop();
    }
  });
});
