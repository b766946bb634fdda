import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHomeportError } from '../../src/errors.js';
import {
  createIssuingCa,
  createRootCa,
  dedupeByFingerprint,
  exportPrivateKeyPem,
  fingerprint256,
  formatFingerprint,
  parsePemBundle,
  readPemBundleFile,
  toPemBundle,
  writePemBundleFile,
  type Issuer,
} from '../../src/pki/index.js';
import { openssl, tempDir } from './helpers.js';

function pemError(text: string): string {
  try {
    parsePemBundle(text);
  } catch (err) {
    if (isHomeportError(err, 'PEM_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected PEM_INVALID');
}

describe('PEM certificate bundles', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: Issuer;
  let issuing: Issuer;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    root = await createRootCa({ commonName: 'PEM Root', validityDays: 30 });
    issuing = await createIssuingCa(root, { commonName: 'PEM Issuing', validityDays: 30 });
  });

  afterAll(async () => cleanup());

  it('round trips: written with 64-character lines and a final newline, read back identical', () => {
    const pem = toPemBundle([issuing.cert, root.cert]);
    expect(pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    const rootLines = toPemBundle([root.cert]).split('\n').slice(1, -3);
    expect(rootLines.every((line) => line.length === 64)).toBe(true);

    const certs = parsePemBundle(pem);
    expect(certs.map(fingerprint256)).toEqual([issuing.cert, root.cert].map(fingerprint256));
    expect(toPemBundle(certs)).toBe(pem);
  });

  it('accepts CRLF line ends and blank lines between blocks', () => {
    const pem = `\r\n${toPemBundle([root.cert]).replace(/\n/g, '\r\n')}\r\n\r\n${toPemBundle([issuing.cert])}`;
    expect(parsePemBundle(pem)).toHaveLength(2);
  });

  it('dedupe keeps the first of each certificate, in order', () => {
    const certs = parsePemBundle(toPemBundle([root.cert, issuing.cert, root.cert, issuing.cert]));
    const unique = dedupeByFingerprint(certs);
    expect(unique).toHaveLength(2);
    expect(unique[0]).toBe(certs[0]);
    expect(unique[1]).toBe(certs[1]);
  });

  it('a PRIVATE KEY block is refused with its block number and line', async () => {
    const keyPem = await exportPrivateKeyPem(root.key);
    const rootPem = toPemBundle([root.cert]);
    const text = `${rootPem}\n${keyPem}`;
    const line = rootPem.split('\n').length + 1;
    expect(pemError(text)).toBe(
      `Cannot read PEM bundle: block 2 (line ${line}) is a PRIVATE KEY, not a CERTIFICATE.`,
    );
  });

  it('garbage base64 is refused naming the block and the line', () => {
    const lines = toPemBundle([root.cert]).split('\n');
    lines[3] = `${lines[3].slice(0, 10)}*${lines[3].slice(11)}`;
    expect(pemError(lines.join('\n'))).toBe(
      'Cannot read PEM bundle: block 1 (line 1) has "*" at line 4, which is not base64.',
    );
  });

  it('base64 with a wrong length or padding in the middle is refused', () => {
    const lines = toPemBundle([root.cert]).split('\n');
    const short = [...lines.slice(0, 2), lines[2].slice(1), ...lines.slice(3)].join('\n');
    expect(pemError(short)).toMatch(/block 1 \(line 1\) is not valid base64: its length/);
    const padded = [...lines.slice(0, 2), `${lines[2].slice(0, 62)}==`, ...lines.slice(3)];
    expect(pemError(padded.join('\n'))).toBe(
      "Cannot read PEM bundle: block 1 (line 1) has padding '=' at line 3, before its last line.",
    );
    const last = lines.length - 3;
    const paddedLast = lines.map((line, i) =>
      i === last ? `${line.slice(0, 2)}=${line.slice(3)}` : line,
    );
    expect(pemError(paddedLast.join('\n'))).toMatch(/padding '=' at offset \d+ is not at the end/);
  });

  it('a CERTIFICATE block whose bytes are not a certificate is refused', () => {
    const fake = '-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n';
    expect(pemError(fake)).toMatch(/block 1 \(line 1\) is not a certificate: its DER is not/);
    const trailing = Buffer.concat([Buffer.from(root.cert.rawData), Buffer.from([0, 0])]);
    const withTrailing = `-----BEGIN CERTIFICATE-----\n${trailing.toString('base64')}\n-----END CERTIFICATE-----\n`;
    expect(pemError(withTrailing)).toMatch(/2 bytes follow the certificate/);
  });

  it('text outside a block, a missing END and a mismatched END are refused', () => {
    const pem = toPemBundle([root.cert]);
    expect(pemError(`subject=CN = PEM Root\n${pem}`)).toMatch(
      /line 1 holds text outside any PEM block/,
    );
    expect(pemError(pem.replace('-----END CERTIFICATE-----\n', ''))).toMatch(
      /block 1 \(line 1\) has no END line/,
    );
    expect(pemError(pem.replace('END CERTIFICATE', 'END X509 CRL'))).toMatch(
      /begins CERTIFICATE but ends X509 CRL/,
    );
  });

  it('empty or blank input is refused', () => {
    expect(pemError('')).toBe('Cannot read PEM bundle: it contains no PEM block.');
    expect(pemError(' \n\n')).toBe('Cannot read PEM bundle: it contains no PEM block.');
  });

  it('fingerprints match openssl, in hex and in the colon form', async () => {
    const path = join(dir, 'root.pem');
    await writePemBundleFile(path, [root.cert]);
    const out = await openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', path]);
    const expected = out.trim().split('=')[1];
    expect(formatFingerprint(fingerprint256(root.cert))).toBe(expected);
    expect(fingerprint256(root.cert)).toBe(expected?.replace(/:/g, '').toLowerCase());
  });

  it('bundle files are written atomically with mode 0644 and read back', async () => {
    const path = join(dir, 'bundle', 'trust.pem');
    await writePemBundleFile(path, [issuing.cert, root.cert]);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect(await readFile(path, 'utf8')).toBe(toPemBundle([issuing.cert, root.cert]));
    expect((await readPemBundleFile(path)).map(fingerprint256)).toEqual(
      [issuing.cert, root.cert].map(fingerprint256),
    );
  });

  it('a damaged bundle file is refused naming the file', async () => {
    const path = join(dir, 'damaged.pem');
    await writePemBundleFile(path, [root.cert]);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, 'not pem\n');
    await expect(readPemBundleFile(path)).rejects.toThrow(`Cannot read PEM bundle ${path}: line 1`);
  });
});
