import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { canonicalMac } from '../common/mac.js';
import { HomeportError } from '../errors.js';
import type { Device, IssuedCertificate, Repository } from '../store/index.js';

/** A device the Bootstrap Server has recognised, and the credential it proved itself with. */
export interface AuthenticatedDevice {
  device: Device;
  /** `factory`: a manufacturer's birth certificate; `operational`: one this BS issued. */
  credential: 'factory' | 'operational';
  certificate: X509Certificate;
  /** The store's record of the operational certificate. */
  issued?: IssuedCertificate;
}

/** Reads one attribute (`CN`, `serialNumber`, …) from a Node certificate's subject text. */
export function subjectAttribute(cert: X509Certificate, name: string): string | undefined {
  return cert.subject
    .split('\n')
    .find((line) => line.startsWith(`${name}=`))
    ?.slice(name.length + 1);
}

/** The certificate serial as the store keeps it: lowercase hex without leading zero bytes. */
export function serialKey(serial: string): string {
  return serial.toLowerCase().replace(/^(00)+(?=.)/, '');
}

function refuse(code: ConstructorParameters<typeof HomeportError>[0], message: string): never {
  throw new HomeportError(code, message);
}

/**
 * Decides whether the TLS peer is a device this BS may serve, in the order a careful operator
 * would check: a certificate at all, one that verifies, a registered device, a certificate
 * that belongs to that device, and not revoked. Each refusal says which check failed.
 *
 * @example
 *   const { device, credential } = await authenticateDevice(socket, ep, repo, deviceIssuing);
 */
export async function authenticateDevice(
  socket: TLSSocket,
  requestedEp: string | undefined,
  repo: Repository,
  deviceIssuing: X509Certificate,
): Promise<AuthenticatedDevice> {
  const certificate = socket.getPeerX509Certificate();
  if (!certificate) {
    refuse(
      'DEVICE_CERT_REQUIRED',
      'A client certificate is required: connect with the factory or operational certificate.',
    );
  }
  if (!socket.authorized) {
    const reason = String(socket.authorizationError);
    const expired = reason === 'CERT_HAS_EXPIRED';
    refuse(
      'DEVICE_CERT_UNTRUSTED',
      expired
        ? `The client certificate has expired (${certificate.validTo}).`
        : `The client certificate is not from a trusted manufacturer or this server's device CA (${reason}).`,
    );
  }

  const cn = subjectAttribute(certificate, 'CN') ?? '';
  const mac = canonicalMac(requestedEp ?? cn);
  if (!mac) refuse('MAC_INVALID', `The endpoint name '${requestedEp ?? cn}' is not a MAC address.`);
  if (canonicalMac(cn) !== mac) {
    refuse('DEVICE_CERT_MISMATCH', `The certificate is for '${cn}', not for endpoint ${mac}.`);
  }

  const device = await repo.getDevice(mac);
  if (!device) {
    refuse(
      'DEVICE_NOT_REGISTERED',
      `Device ${mac} is not registered on this server; register it with POST /api/identity/devices.`,
    );
  }

  const operational =
    certificate.checkIssued(deviceIssuing) && certificate.verify(deviceIssuing.publicKey);
  if (!operational) {
    const serial = subjectAttribute(certificate, 'serialNumber');
    if (serial !== device.serialNumber) {
      refuse(
        'DEVICE_CERT_MISMATCH',
        `The factory certificate carries serial '${serial ?? '(none)'}', but ${mac} is registered with '${device.serialNumber}'.`,
      );
    }
    return { device, credential: 'factory', certificate };
  }

  const issued = await repo.getCertificate(serialKey(certificate.serialNumber));
  if (!issued || issued.deviceMac !== mac) {
    refuse(
      'DEVICE_CERT_UNTRUSTED',
      `This server has no record of certificate ${certificate.serialNumber} for ${mac}.`,
    );
  }
  if (issued.revokedAt) {
    refuse(
      'DEVICE_CERT_REVOKED',
      `Certificate ${issued.serial} of ${mac} was revoked at ${issued.revokedAt}.`,
    );
  }
  return { device, credential: 'operational', certificate, issued };
}
