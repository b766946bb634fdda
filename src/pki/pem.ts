import { createHash, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { HomeportError } from '../errors.js';
import { base64Problem, encodePem, firstElementLength, toBytes } from './encoding.js';
import { writeFileAtomic } from './files.js';
import { x509 } from './x509.js';

/** A PEM block as found in a text: its number (1-based), first line, label and base64 lines. */
interface PemBlock {
  number: number;
  line: number;
  label: string;
  body: { text: string; line: number }[];
}

// RFC 7468 §2: encapsulation boundaries.
const BEGIN = /^-----BEGIN ([^-]*)-----\s*$/;
const END = /^-----END ([^-]*)-----\s*$/;

/**
 * Reads a bundle of PEM certificates. Every block must be a CERTIFICATE whose base64 decodes
 * to exactly one X.509 certificate; only whitespace may appear between blocks. Anything else is
 * refused with PEM_INVALID naming the block and line.
 *
 * @example
 *   const certs = parsePemBundle(await readFile('trust.pem', 'utf8'));
 *   // throws "Cannot read PEM bundle: block 3 (line 41) is a PRIVATE KEY, not a CERTIFICATE."
 */
export function parsePemBundle(text: string, source = 'PEM bundle'): x509.X509Certificate[] {
  const blocks = scanPemBlocks(text, source);
  if (blocks.length === 0) throw pemError(source, 'it contains no PEM block');
  return blocks.map((block) => decodeCertificateBlock(block, source));
}

/**
 * Writes certificates as PEM: one CERTIFICATE block each, 64-character lines, a trailing newline.
 *
 * @example
 *   await writeFile('chain.pem', toPemBundle([leaf, ...issuer.chain]));
 */
export function toPemBundle(certs: readonly x509.X509Certificate[]): string {
  return certs.map((cert) => encodePem('CERTIFICATE', cert.rawData)).join('');
}

/**
 * The SHA-256 fingerprint of a certificate's DER, as lowercase hex: how Homeport identifies
 * certificates in trust stores and in `/api/info`.
 *
 * @example
 *   fingerprint256(root); // '3f1a...' (64 hex digits)
 */
export function fingerprint256(cert: x509.X509Certificate): string {
  return createHash('sha256').update(toBytes(cert.rawData)).digest('hex');
}

/**
 * A hex fingerprint in the colon-separated upper-case form that OpenSSL and browsers show.
 *
 * @example
 *   formatFingerprint('3f1a0b'); // '3F:1A:0B'
 */
export function formatFingerprint(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

/**
 * Drops repeated certificates (same SHA-256 fingerprint), keeping the first of each, in order.
 *
 * @example
 *   dedupeByFingerprint([root, issuing, root]); // [root, issuing]
 */
export function dedupeByFingerprint(
  certs: readonly x509.X509Certificate[],
): x509.X509Certificate[] {
  const seen = new Set<string>();
  return certs.filter((cert) => {
    const fp = fingerprint256(cert);
    if (seen.has(fp)) return false;
    seen.add(fp);
    return true;
  });
}

/**
 * Reads a PEM certificate bundle file, with the path named in any error.
 *
 * @example
 *   const [root] = await readPemBundleFile(join(pkiDir, 'server-root.pem'));
 */
export async function readPemBundleFile(path: string): Promise<x509.X509Certificate[]> {
  return parsePemBundle(await readFile(path, 'utf8'), `PEM bundle ${path}`);
}

/**
 * Writes a PEM certificate bundle file atomically (mode 0644: certificates are public).
 *
 * @example
 *   await writePemBundleFile(join(pkiDir, 'server-root.pem'), [root.cert]);
 */
export async function writePemBundleFile(
  path: string,
  certs: readonly x509.X509Certificate[],
): Promise<void> {
  await writeFileAtomic(path, toPemBundle(certs), 0o644);
}

/**
 * Parses DER that must be exactly one X.509 certificate, returning why not otherwise. Both
 * @peculiar/x509 and OpenSSL must accept it, and no bytes may follow it.
 *
 * @example
 *   const cert = certificateFromDer(der);
 *   if (typeof cert === 'string') throw new Error(`not a certificate: ${cert}`);
 */
export function certificateFromDer(der: Uint8Array): x509.X509Certificate | string {
  const length = firstElementLength(der);
  if (length === undefined) return 'its bytes are not DER';
  if (length > der.length) {
    return `it is truncated: ${length} bytes declared, ${der.length} present`;
  }
  if (length < der.length) return `${der.length - length} bytes follow the certificate`;

  try {
    new NodeX509Certificate(der);
    return new x509.X509Certificate(der.slice());
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return `its DER is not an X.509 certificate (${reason})`;
  }
}

function decodeCertificateBlock(block: PemBlock, source: string): x509.X509Certificate {
  const where = `block ${block.number} (line ${block.line})`;
  if (block.label !== 'CERTIFICATE') {
    const label = block.label || 'block without a label';
    const article = /^[AEIOU]/.test(label) ? 'an' : 'a';
    throw pemError(source, `${where} is ${article} ${label}, not a CERTIFICATE`);
  }

  block.body.forEach(({ text, line }, index) => {
    const bad = text.search(/[^A-Za-z0-9+/=]/);
    if (bad >= 0) {
      throw pemError(
        source,
        `${where} has ${JSON.stringify(text[bad])} at line ${line}, which is not base64`,
      );
    }
    if (index < block.body.length - 1 && text.includes('=')) {
      throw pemError(source, `${where} has padding '=' at line ${line}, before its last line`);
    }
  });

  const base64 = block.body.map((entry) => entry.text).join('');
  const problem = base64.length === 0 ? 'it is empty' : base64Problem(base64);
  if (problem) throw pemError(source, `${where} is not valid base64: ${problem}`);

  const cert = certificateFromDer(Buffer.from(base64, 'base64'));
  if (typeof cert === 'string') throw pemError(source, `${where} is not a certificate: ${cert}`);
  return cert;
}

function scanPemBlocks(text: string, source: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let open: PemBlock | undefined;

  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();

    if (!open) {
      if (content === '') return;
      const begin = BEGIN.exec(content);
      if (!begin) throw pemError(source, `line ${line} holds text outside any PEM block`);
      open = { number: blocks.length + 1, line, label: begin[1] ?? '', body: [] };
      return;
    }

    const where = `block ${open.number} (line ${open.line})`;
    if (BEGIN.test(content)) throw pemError(source, `${where} has no END line before line ${line}`);

    const end = END.exec(content);
    if (end && end[1] !== open.label) {
      throw pemError(source, `${where} begins ${open.label} but ends ${end[1]} at line ${line}`);
    }
    if (end) {
      blocks.push(open);
      open = undefined;
      return;
    }
    if (content !== '') open.body.push({ text: content, line });
  });

  if (open) throw pemError(source, `block ${open.number} (line ${open.line}) has no END line`);
  return blocks;
}

function pemError(source: string, reason: string): HomeportError {
  return new HomeportError('PEM_INVALID', `Cannot read ${source}: ${reason}.`);
}
