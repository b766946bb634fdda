/**
 * How devices, their certificates and their commands look in API answers (wadmp notes §4.3),
 * as JSON Schemas for the OpenAPI document and as the functions that build them.
 */
import type { Command, Device, IssuedCertificate, Repository } from '../../store/index.js';
import { managementServerSchema } from './management-server-schemas.js';
import { companyRef } from './schemas.js';

const nullableString = { type: ['string', 'null'] } as const;

const deviceProperties = {
  alias: { type: 'string' },
  display_name: { type: 'string' },
  serial_number: { type: 'string' },
  mac_address: { type: 'string', description: 'Canonical: 00:0A:14:81:22:33' },
  imei: nullableString,
  order_code: nullableString,
  device_type: {
    type: ['object', 'null'],
    properties: { type_id: { type: ['integer', 'null'] }, name: { type: 'string' } },
  },
  company: companyRef,
  is_online: { type: 'boolean' },
  last_seen: { ...nullableString, description: 'When the MS last heard from the device' },
} as const;

/** One item of `GET /api/management/devices`. */
export const deviceSchema = { type: 'object', properties: deviceProperties } as const;

/** The newest certificate the BS issued to a device. */
export const certificateSchema = {
  type: 'object',
  properties: {
    serial: { type: 'string', description: 'Lowercase hex' },
    not_before: { type: 'string' },
    not_after: { type: 'string' },
    issuer: { type: 'string' },
    revoked: { type: 'boolean' },
    revoked_at: nullableString,
  },
} as const;

/** `GET /api/management/devices/{mac}`: the list item and what the device's servers know. */
export const deviceDetailSchema = {
  type: 'object',
  properties: {
    ...deviceProperties,
    certificate: { ...certificateSchema, type: ['object', 'null'] },
    bootstrap_server_uri: {
      ...nullableString,
      description: 'The Server URI of its bootstrap-server account, as the device reported it',
    },
    management_server: {
      ...managementServerSchema,
      description:
        'The MS its BS sends it to at its next bootstrap; id 0 (co_located true) is the MS of ' +
        'this deployment',
    },
  },
} as const;

/** A command queued for a device (docs/protocol.md §4.1) and how it went. */
export const commandSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    type: { type: 'string' },
    state: { type: 'string' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    result: nullableString,
  },
} as const;

/** Presents devices, looking each company up once per request. */
export function devicePresenter(repo: Repository) {
  const names = new Map<number, Promise<string | undefined>>();
  const companyName = (id: number) => {
    let name = names.get(id);
    if (!name) {
      name = repo.getCompany(id).then((company) => company?.name);
      names.set(id, name);
    }
    return name;
  };

  return async (device: Device) => {
    const name = device.companyId === null ? undefined : await companyName(device.companyId);
    return {
      alias: device.alias,
      display_name: device.alias || device.mac,
      serial_number: device.serialNumber,
      mac_address: device.mac,
      imei: device.imei,
      order_code: device.orderCode,
      device_type: device.deviceType === null ? null : { type_id: null, name: device.deviceType },
      company: device.companyId === null ? null : { id: device.companyId, name: name ?? 'unknown' },
      is_online: device.isOnline,
      last_seen: device.lastSeen,
    };
  };
}

/** A certificate record as the API shows it. */
export function presentCertificate(cert: IssuedCertificate) {
  return {
    serial: cert.serial,
    not_before: cert.notBefore,
    not_after: cert.notAfter,
    issuer: cert.issuer,
    revoked: cert.revokedAt !== null,
    revoked_at: cert.revokedAt,
  };
}

/** A command as the API shows it; `actor` stays in the audit log. */
export function presentCommand(command: Command) {
  return {
    id: command.id,
    type: command.type,
    state: command.state,
    created_at: command.createdAt,
    updated_at: command.updatedAt,
    result: command.result,
  };
}
