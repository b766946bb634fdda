/**
 * Records about devices: identities, the certificates the Bootstrap Server issued them,
 * the commands waiting for them, the trust lists of the Bootstrap and Management Servers, and
 * the definitions of other Management Servers the Bootstrap Server may send devices to.
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

/**
 * What the BS does when a device assigned to a definition comes back with a
 * registration-failure for that very server (docs/protocol.md §3.1): `home` clears the
 * assignment, so the device is sent to the co-located MS; `retry` keeps sending it there.
 */
export const ON_FAILURE_POLICIES = ['home', 'retry'] as const;
export type OnFailurePolicy = (typeof ON_FAILURE_POLICIES)[number];

/**
 * The definition of a Management Server the BS may send devices to instead of the co-located
 * one (ARCHITECTURE §4, wadmp notes §4.4). `address` is stored lower case, so (address, port)
 * is unique without regard to case.
 */
export interface ManagementServer {
  id: number;
  /** A label for people; devices never see it. */
  name: string;
  /** IP address or DNS name, as devices connect to it and as its certificate must name it. */
  address: string;
  port: number;
  /** The company that administers the definition; null: a SysAdmin's alone. */
  companyId: number | null;
  /** The trust anchor given to devices (`/0/1` resource 5): one self-signed certificate, PEM. */
  caPem: string;
  /** SHA-256 of the anchor's DER, lowercase hex. */
  caFingerprint: string;
  onFailure: OnFailurePolicy;
  createdAt: string;
}

export interface NewManagementServer {
  name: string;
  address: string;
  port: number;
  companyId?: number | null | undefined;
  caPem: string;
  caFingerprint: string;
  onFailure?: OnFailurePolicy | undefined;
}

/** The fields to change; those left out keep their value. */
export type ManagementServerPatch = Partial<NewManagementServer>;

export interface ManagementServerQuery {
  /** Substring of the name, compared without regard to case. */
  name?: string | undefined;
  /** The whole address, compared without regard to case. */
  address?: string | undefined;
  port?: number | undefined;
  /** Only definitions of these companies (none without a company); empty matches nothing. */
  companyIds?: readonly number[] | undefined;
}
