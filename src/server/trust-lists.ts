import type { Logger } from '../log.js';
import type { x509 } from '../pki/index.js';
import { dedupeByFingerprint, fingerprint256, parsePemBundle, toPemBundle } from '../pki/index.js';
import type { Repository, TrustedCertificate } from '../store/index.js';

export function trusted(cert: x509.X509Certificate): TrustedCertificate {
  return { fingerprint: fingerprint256(cert), pem: toPemBundle([cert]), subject: cert.subject };
}

/**
 * On the first start the MS trusts the deployment's own Device PKI. Later starts keep whatever
 * the operator made of the list, even an empty one.
 */
export async function initialManagementTrust(
  repo: Repository,
  deviceChain: x509.X509Certificate[],
): Promise<string[]> {
  if ((await repo.getMeta('management_trust_initialized')) === undefined) {
    await repo.transaction(async (tx) => {
      await tx.replaceTrustList('management', deviceChain.map(trusted));
      await tx.setMeta('management_trust_initialized', new Date().toISOString());
    });
  }
  return (await repo.getTrustList('management')).map((c) => c.pem);
}

/**
 * The manufacturers whose factory certificates the BS accepts: the stored list plus those
 * given with `--manufacturer-ca`, which are added to it (and so shown by the API).
 */
export async function manufacturerTrust(
  repo: Repository,
  fromFlags: readonly string[],
  log: Logger,
): Promise<string[]> {
  const stored = await repo.getTrustList('manufacturers');
  const given = fromFlags.flatMap((pem) => parsePemBundle(pem, '--manufacturer-ca'));
  const known = new Set(stored.map((c) => c.fingerprint));
  const added = dedupeByFingerprint(given).filter((cert) => !known.has(fingerprint256(cert)));
  if (added.length > 0) {
    await repo.replaceTrustList('manufacturers', [...stored, ...added.map(trusted)]);
    log.info(
      { added: added.map((c) => c.subject) },
      'manufacturer CAs added from the command line',
    );
  }
  return [...stored.map((c) => c.pem), ...added.map((c) => toPemBundle([c]))];
}
