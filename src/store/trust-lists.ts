import { HomeportError } from '../errors.js';
import type { Db } from './schema.js';
import type { TrustList, TrustedCertificate } from './device-types.js';

export async function getTrustList(db: Db, list: TrustList): Promise<TrustedCertificate[]> {
  return db
    .selectFrom('trust_lists')
    .select(['fingerprint', 'pem', 'subject'])
    .where('list', '=', list)
    .orderBy('position')
    .execute();
}

/**
 * Replaces the whole list, keeping the order given; `db` must be a transaction, so a failure
 * leaves the old list as it was.
 */
export async function replaceTrustList(
  db: Db,
  list: TrustList,
  certs: readonly TrustedCertificate[],
): Promise<void> {
  const operation = `Cannot replace the ${list} trust list`;
  checkNoDuplicates(operation, certs);

  await db.deleteFrom('trust_lists').where('list', '=', list).execute();
  if (certs.length === 0) return;

  const rows = certs.map((cert, position) => ({
    list,
    position,
    fingerprint: cert.fingerprint,
    pem: cert.pem,
    subject: cert.subject,
  }));
  await db.insertInto('trust_lists').values(rows).execute();
}

function checkNoDuplicates(operation: string, certs: readonly TrustedCertificate[]): void {
  const seen = new Set<string>();
  for (const { fingerprint, subject } of certs) {
    if (seen.has(fingerprint)) {
      throw new HomeportError(
        'TRUST_STORE_INVALID',
        `${operation}: certificate "${subject}" (SHA-256 ${fingerprint}) is listed twice.`,
      );
    }
    seen.add(fingerprint);
  }
}
