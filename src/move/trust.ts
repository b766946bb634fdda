import { HomeportError } from '../errors.js';
import { fingerprint256, parsePemBundle, toPemBundle, type x509 } from '../pki/index.js';
import type { MoveCalls } from './calls.js';
import type { MoveServer } from './types.js';

/** Conditional updates tried before giving up when others keep changing the store. */
export const TRUST_ATTEMPTS = 6;
/** The first wait after a 412; it doubles each time, with 0–100 % jitter on top. */
const RETRY_BASE_MS = 50;

interface TrustEntry {
  cert: x509.X509Certificate;
  fingerprint: string;
}

/** What a merge did: the fingerprints it added (empty when the destination had them all). */
export interface TrustMerge {
  added: string[];
  attempts: number;
}

/**
 * ARCHITECTURE §4 step 3: makes `to`'s Management Server trust every device CA that `from`'s
 * trusts. `from` accepts the device now, so its store holds the device's CA chain; the union is
 * a safe superset. Certificates are compared by SHA-256 fingerprint, never by name: two CAs
 * may share a subject. Nothing in `to`'s store is dropped or reordered. The PUT carries
 * If-Match, so a concurrent change (another move) is never overwritten: on 412 the store is
 * read again and the missing entries recomputed, up to TRUST_ATTEMPTS times with jittered
 * backoff.
 *
 * @example
 *   const { added } = await mergeTrust(calls, server1, server2);
 */
export async function mergeTrust(
  calls: MoveCalls,
  from: MoveServer,
  to: MoveServer,
  random: () => number = Math.random,
): Promise<TrustMerge> {
  const wanted = readStore((await calls.read<{ certs: string }>(from, '/api/certs')).data.certs);

  for (let attempt = 1; attempt <= TRUST_ATTEMPTS; attempt++) {
    const current = await calls.readWithEtag<{ certs: string }>(to, '/api/certs');
    const text = decode(current.data.certs);
    const have = new Set(readStore(current.data.certs).map((e) => e.fingerprint));
    const missing = wanted.filter((e) => !have.has(e.fingerprint));
    if (missing.length === 0) return { added: [], attempts: attempt };

    const next = `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${toPemBundle(missing.map((e) => e.cert))}`;
    const put = await calls.putIfMatch(
      to,
      '/api/certs',
      current.etag,
      { certs: Buffer.from(next, 'utf8').toString('base64') },
      `keeps the ${have.size} entries and adds ${describe(missing)}`,
    );
    if (put.updated) return { added: missing.map((e) => e.fingerprint), attempts: attempt };
    await sleep(RETRY_BASE_MS * 2 ** (attempt - 1) * (1 + random()));
  }
  throw new HomeportError(
    'MOVE_TRUST_CONFLICT',
    `Cannot add ${from.name}'s device CAs to ${to.name}'s trust store: it changed under every ` +
      `one of ${TRUST_ATTEMPTS} conditional updates (412). Something keeps replacing it; run ` +
      'the move again when it has settled.',
  );
}

/**
 * How many of `from`'s trusted CAs `to` lacks (reads only): tells whether the move will have
 * to change `to`'s trust store, which only a SysAdmin may do.
 */
export async function countMissingTrust(
  calls: MoveCalls,
  from: MoveServer,
  to: MoveServer,
): Promise<number> {
  const [source, target] = await Promise.all([
    calls.read<{ certs: string }>(from, '/api/certs'),
    calls.read<{ certs: string }>(to, '/api/certs'),
  ]);
  const have = new Set(readStore(target.data.certs).map((e) => e.fingerprint));
  return readStore(source.data.certs).filter((e) => !have.has(e.fingerprint)).length;
}

/** The entries of a base64 PEM bundle as `/api/certs` answers it; empty text = no entries. */
function readStore(base64: string): TrustEntry[] {
  const text = decode(base64);
  if (text.trim() === '') return [];
  const seen = new Set<string>();
  return parsePemBundle(text, 'the trust store').flatMap((cert) => {
    const fingerprint = fingerprint256(cert);
    if (seen.has(fingerprint)) return [];
    seen.add(fingerprint);
    return [{ cert, fingerprint }];
  });
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

function describe(entries: TrustEntry[]): string {
  const names = entries.map((e) => `'${e.cert.subject}' (SHA-256 ${e.fingerprint.slice(0, 16)}…)`);
  return `${entries.length} CA${entries.length === 1 ? '' : 's'}: ${names.join(', ')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
