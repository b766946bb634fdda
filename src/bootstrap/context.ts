import type { X509Certificate } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import type { Issuer, x509 } from '../pki/index.js';
import type { Device, Repository } from '../store/index.js';
import { authenticateDevice, type AuthenticatedDevice } from './authenticate.js';
import type { BootstrapPolicy } from './config.js';
import type { HoldOff } from './hold-off.js';

/** Where the BS sends a device: the MS's URI and the anchor the device verifies it with. */
export interface ManagementTarget {
  uri: string;
  anchorPem: string;
}

/** What the Bootstrap Server's routes share. */
export interface BootstrapContext {
  repo: Repository;
  policy: BootstrapPolicy;
  holdOff: HoldOff;
  /** The Device PKI's issuing CA, which signs operational certificates. */
  deviceIssuing: Issuer;
  deviceIssuingCert: X509Certificate;
  /** Issuing CA and root, as EST `cacerts` gives them out. */
  deviceCaChain: x509.X509Certificate[];
  /** The MS a device is sent to (the co-located one unless the store says otherwise). */
  managementTargetFor(device: Device): Promise<ManagementTarget>;
  logger: Logger;
}

/** Authenticates the device behind a request; see `authenticateDevice`. */
export function deviceOf(
  ctx: BootstrapContext,
  request: FastifyRequest,
  ep?: string,
): Promise<AuthenticatedDevice> {
  return authenticateDevice(request.raw.socket as TLSSocket, ep, ctx.repo, ctx.deviceIssuingCert);
}
