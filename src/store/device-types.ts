/**
 * Records about devices: identities, the certificates the Bootstrap Server issued them,
 * the commands waiting for them, and the trust lists of the Bootstrap and Management Servers.
 */
import type { PageQuery } from './types.js';

/** A registered device. `mac` is canonical: upper case with colons, `00:0A:14:81:22:33`. */
export interface Device {
  id: number;
  mac: string;
  alias: string;
  serialNumber: string;
  imei: string | null;
  orderCode: string | null;
  deviceType: string | null;
  companyId: number | null;
  createdAt: string;
  isOnline: boolean;
  /** When the MS last heard from the device (connect, register, notify, disconnect). */
  lastSeen: string | null;
  /** The Server URI of the device's bootstrap-server account, from its last Register. */
  bootstrapServerUri: string | null;
  /** The management-server definition the BS sends the device to; null = the co-located MS. */
  managementServerId: number | null;
}

export interface NewDevice {
  mac: string;
  alias: string;
  serialNumber: string;
  imei?: string | null | undefined;
  orderCode?: string | null | undefined;
  deviceType?: string | null | undefined;
  companyId?: number | null | undefined;
}

export interface DeviceQuery extends PageQuery {
  /** Substring of the alias, compared without regard to case. */
  name?: string | undefined;
  /** Substring of the MAC (canonical form) or the serial number, without regard to case. */
  search?: string | undefined;
  /** Only devices of these companies; an empty list matches nothing. */
  companyIds?: readonly number[] | undefined;
  /** Also the devices of no company (with `companyIds`). */
  includeUnclaimed?: boolean | undefined;
  isOnline?: boolean | undefined;
}

/** What a device said in its last Register. */
export interface DeviceRegistration {
  bootstrapServerUri: string | null;
}

/** A certificate the Bootstrap Server issued to a device. `serial` is lowercase hex. */
export interface IssuedCertificate {
  serial: string;
  deviceMac: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  createdAt: string;
  revokedAt: string | null;
}

export type NewIssuedCertificate = Omit<IssuedCertificate, 'createdAt' | 'revokedAt'>;

export const COMMAND_TYPES = ['trigger-bootstrap', 'reboot'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

export const COMMAND_STATES = [
  'Created',
  'AwaitingResponse',
  'Success',
  'Failed',
  'Aborted',
  'Superseded',
] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

export interface Command {
  id: number;
  deviceMac: string;
  type: CommandType;
  state: CommandState;
  createdAt: string;
  updatedAt: string;
  /** Who asked for it (user email). */
  actor: string;
  /** The device's answer code or the reason for Failed/Aborted. */
  result: string | null;
}

/** A CA certificate in a trust list, kept as PEM with its SHA-256 fingerprint (lowercase hex). */
export interface TrustedCertificate {
  fingerprint: string;
  pem: string;
  subject: string;
}

/** The two trust lists a deployment keeps. */
export type TrustList = 'management' | 'manufacturers';
