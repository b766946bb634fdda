import { X509Certificate } from 'node:crypto';

/**
 * True if `leaf` chains, through the certificates in `anchors`, to a self-signed root that is
 * itself in `anchors`: the test the TLS stack applies, repeated for connections that were
 * accepted under an older trust store.
 *
 * @example
 *   if (!chainsTo(socket.getPeerX509Certificate(), newStore)) socket.destroy();
 */
export function chainsTo(leaf: X509Certificate, anchors: readonly X509Certificate[]): boolean {
  let current = leaf;
  for (let depth = 0; depth < 8; depth++) {
    const issuer = anchors.find((ca) => current.checkIssued(ca) && current.verify(ca.publicKey));
    if (!issuer) return false;
    if (issuer.checkIssued(issuer)) return true;
    current = issuer;
  }
  return false;
}

export function parseCertificates(pems: readonly string[]): X509Certificate[] {
  return pems.map((pem) => new X509Certificate(pem));
}
