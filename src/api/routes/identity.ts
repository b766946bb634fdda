import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HomeportError } from '../../errors.js';
import type { Repository } from '../../store/index.js';
import { accessOf, requirePermission } from '../auth/authenticate.js';
import type { ApiContext } from '../context.js';
import { envelopeSchema, failureSchema, ok } from '../envelope.js';
import { findDevice, macParams, parseMac, requireDevicePermission } from './device-access.js';
import { devicePresenter, deviceSchema } from './device-schemas.js';
import { bearer } from './schemas.js';

interface CreateBody {
  alias: string;
  serial_number: string;
  mac_address: string;
  imei?: string | null;
  order_code?: string | null;
  device_type?: string | null;
  company_id?: number | null;
}

const errors = { 400: failureSchema, 401: failureSchema, 403: failureSchema, 404: failureSchema };

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['alias', 'serial_number', 'mac_address'],
  properties: {
    alias: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
    serial_number: { type: 'string', minLength: 1, maxLength: 64, pattern: '\\S' },
    mac_address: { type: 'string', maxLength: 64, description: 'Any common MAC spelling' },
    imei: { type: ['string', 'null'], pattern: '^[0-9]{14,16}$' },
    order_code: { type: ['string', 'null'], maxLength: 64 },
    device_type: { type: ['string', 'null'], maxLength: 100 },
    company_id: {
      type: ['integer', 'null'],
      minimum: 1,
      description: 'The owning company; without one, only a SysAdmin may register the device',
    },
  },
} as const;

/**
 * `/api/identity/devices`: registering a device on this deployment (its identity, what the
 * BS checks a factory certificate against) and removing it.
 */
export function registerIdentityRoutes(app: FastifyInstance, { repo, live }: ApiContext): void {
  app.post<{ Body: CreateBody }>(
    '/api/identity/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Register a device (SysAdmin, or CreateDevice in company_id)',
        security: bearer,
        body: createBody,
        response: { 201: envelopeSchema(deviceSchema), ...errors, 409: failureSchema },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const mac = parseMac(body.mac_address, "body field 'mac_address'");
      const companyId = body.company_id ?? null;
      const access = accessOf(request);
      await checkCreate(repo, request, companyId);
      if (await repo.getDevice(mac)) throw deviceExists(mac);

      const device = await repo.transaction(async (tx) => {
        const created = await tx.createDevice({
          mac,
          alias: body.alias.trim(),
          serialNumber: body.serial_number.trim(),
          imei: body.imei ?? null,
          orderCode: body.order_code ?? null,
          deviceType: body.device_type ?? null,
          companyId,
        });
        await tx.appendAudit({
          actor: access.email,
          action: 'device.create',
          subject: `device:${mac}`,
          detail: { alias: created.alias, serialNumber: created.serialNumber, companyId },
        });
        return created;
      });
      return reply.status(201).send(ok(await devicePresenter(repo)(device)));
    },
  );

  app.delete<{ Params: { mac: string } }>(
    '/api/identity/devices/:mac',
    {
      schema: {
        tags: ['devices'],
        summary: 'Remove a device with its certificates and commands (DeleteDevice in its company)',
        security: bearer,
        params: macParams,
        response: { 200: envelopeSchema({ type: 'null' }), ...errors },
      },
    },
    async (request) => {
      const device = await findDevice(repo, request.params.mac);
      const access = requireDevicePermission(request, device, 'DeleteDevice');

      await repo.transaction(async (tx) => {
        await tx.deleteDevice(device.mac);
        await tx.appendAudit({
          actor: access.email,
          action: 'device.delete',
          subject: `device:${device.mac}`,
          detail: { alias: device.alias, serialNumber: device.serialNumber },
        });
      });
      live.disconnectDevice(device.mac);
      return ok(null);
    },
  );
}

/** Without company_id only a SysAdmin may register; with one, CreateDevice there. */
async function checkCreate(repo: Repository, request: FastifyRequest, companyId: number | null) {
  if (companyId === null) {
    if (accessOf(request).isSysAdmin) return;
    throw new HomeportError(
      'PERMISSION_NOT_HELD',
      'Only a SysAdmin registers a device outside companies: set company_id to a company where ' +
        'you hold CreateDevice.',
    );
  }
  if (!(await repo.getCompany(companyId))) {
    throw new HomeportError(
      'COMPANY_NOT_FOUND',
      `Company ${companyId} (company_id) does not exist.`,
    );
  }
  requirePermission(request, 'CreateDevice', companyId);
}

function deviceExists(mac: string): HomeportError {
  return new HomeportError(
    'DEVICE_EXISTS',
    `Cannot register device ${mac}: a device with this MAC is already registered here.`,
  );
}
