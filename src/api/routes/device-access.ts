import type { FastifyRequest } from 'fastify';
import { canonicalMac } from '../../common/mac.js';
import { HomeportError } from '../../errors.js';
import type { Device, Repository } from '../../store/index.js';
import { accessOf, permissionNotHeld } from '../auth/authenticate.js';
import type { AccessContext, Permission } from '../permissions.js';

/** Path parameters of the routes under `/devices/{mac}`: any common MAC spelling. */
export const macParams = {
  type: 'object',
  additionalProperties: false,
  required: ['mac'],
  properties: {
    mac: {
      type: 'string',
      maxLength: 64,
      description: 'MAC address: 00:0A:14:81:22:33, 00-0a-14-81-22-33, 000a.1481.2233 or bare hex',
    },
  },
} as const;

/**
 * A MAC address in canonical form (`00:0A:14:81:22:33`), or MAC_INVALID naming the field and
 * the value.
 *
 * @example
 *   parseMac('000a.1481.2233', "path parameter 'mac'"); // '00:0A:14:81:22:33'
 */
export function parseMac(value: string, field: string): string {
  const mac = canonicalMac(value);
  if (mac) return mac;
  throw new HomeportError(
    'MAC_INVALID',
    `Invalid request: ${field} ${JSON.stringify(value)} is not a MAC address; write six hex ` +
      'pairs such as 00:0A:14:81:22:33 (dashes, Cisco dots or bare hex also work).',
  );
}

/** The device with this MAC (any spelling), or 404 DEVICE_NOT_FOUND. */
export async function findDevice(repo: Repository, macParam: string): Promise<Device> {
  const mac = parseMac(macParam, "path parameter 'mac'");
  const device = await repo.getDevice(mac);
  if (!device) {
    throw new HomeportError('DEVICE_NOT_FOUND', `Device ${mac} is not registered here.`);
  }
  return device;
}

/**
 * Throws 403 unless the caller holds one of `permissions` in the device's company. A device
 * of no company (unclaimed) is a SysAdmin's alone.
 *
 * @example
 *   requireDevicePermission(request, device, 'EditDevice', 'ChangeDeviceDMServer');
 */
export function requireDevicePermission(
  request: FastifyRequest,
  device: Device,
  ...permissions: [Permission, ...Permission[]]
): AccessContext {
  const access = accessOf(request);
  const companyId = device.companyId;
  if (companyId !== null && permissions.some((p) => access.has(p, companyId))) return access;
  if (companyId === null && access.isSysAdmin) return access;

  const needed = permissions.join(' or ');
  if (companyId === null) {
    throw new HomeportError(
      'PERMISSION_NOT_HELD',
      `Device ${device.mac} belongs to no company, so only a SysAdmin may act on it (a device ` +
        `in a company needs ${needed} there).`,
    );
  }
  const where = `company ${companyId}, where device ${device.mac} belongs`;
  if (permissions.length === 1) throw permissionNotHeld(permissions[0], where);
  throw new HomeportError(
    'PERMISSION_NOT_HELD',
    `This needs the ${needed} permission in ${where}, which your user does not hold.`,
  );
}
