import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Device, ManagementServer } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { envelopeSchema, failureSchema, ok } from '../envelope.js';
import { findDevice, macParams, requireDevicePermission } from './device-access.js';
import {
  CO_LOCATED_ID,
  CO_LOCATED_NOTE,
  managementServerSchema,
  presentAssigned,
} from './management-server-schemas.js';
import { findDefinition } from './management-server-access.js';
import { bearer } from './schemas.js';

const errors = { 400: failureSchema, 401: failureSchema, 403: failureSchema, 404: failureSchema };

const serverParams = {
  type: 'object',
  additionalProperties: false,
  required: ['mac', 'serverId'],
  properties: {
    ...macParams.properties,
    serverId: { type: 'integer', minimum: 0, description: '0: the co-located MS' },
  },
} as const;

const NEXT_BOOTSTRAP =
  'Takes effect at the next bootstrap of the device: trigger one with POST ' +
  '/api/management/devices/{mac}/commands/trigger-bootstrap on the deployment that manages it.';

/**
 * `/api/management/devices/{mac}/bootstrap-server`: which Management Server this deployment's
 * BS sends the device to (wadmp notes §4.3, ARCHITECTURE §4 step 4). Changing it needs
 * ChangeDeviceDMServer in the device's company (SysAdmin for a device of none).
 */
export function registerDeviceManagementServerRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { repo } = ctx;

  app.get<{ Params: { mac: string } }>(
    '/api/management/devices/:mac/bootstrap-server',
    {
      schema: {
        tags: ['devices'],
        summary:
          'The Management Server definition the BS sends the device to (ViewDevice or ' +
          'ChangeDeviceDMServer in its company)',
        description: CO_LOCATED_NOTE,
        security: bearer,
        params: macParams,
        response: { 200: envelopeSchema(managementServerSchema), ...errors },
      },
    },
    async (request) => {
      const device = await findDevice(repo, request.params.mac);
      requireDevicePermission(request, device, 'ViewDevice', 'ChangeDeviceDMServer');
      return ok(await presentAssigned(repo, device, ctx.info()));
    },
  );

  app.put<{ Params: { mac: string; serverId: number } }>(
    '/api/management/devices/:mac/bootstrap-server/:serverId',
    {
      schema: {
        tags: ['devices'],
        summary: 'Send the device to this Management Server (ChangeDeviceDMServer in its company)',
        description:
          `No body. serverId 0 is the co-located MS, the same as DELETE. Assigning the server ` +
          `the device already has changes nothing. ${NEXT_BOOTSTRAP}`,
        security: bearer,
        params: serverParams,
        response: { 200: envelopeSchema(managementServerSchema), ...errors },
      },
    },
    async (request) => {
      const device = await findDevice(repo, request.params.mac);
      requireDevicePermission(request, device, 'ChangeDeviceDMServer');
      const id = request.params.serverId;
      const server = id === CO_LOCATED_ID ? undefined : await findDefinition(repo, id);
      return ok(await assign(ctx, request, device, server));
    },
  );

  app.delete<{ Params: { mac: string } }>(
    '/api/management/devices/:mac/bootstrap-server',
    {
      schema: {
        tags: ['devices'],
        summary: 'Send the device to the co-located MS again (ChangeDeviceDMServer in its company)',
        description: NEXT_BOOTSTRAP,
        security: bearer,
        params: macParams,
        response: { 200: envelopeSchema(managementServerSchema), ...errors },
      },
    },
    async (request) => {
      const device = await findDevice(repo, request.params.mac);
      requireDevicePermission(request, device, 'ChangeDeviceDMServer');
      return ok(await assign(ctx, request, device, undefined));
    },
  );
}

/**
 * Assigns the device to `server` (the co-located MS when undefined) with an audit entry in the
 * same transaction, unless it is assigned there already; answers the definition it now has.
 */
async function assign(
  ctx: ApiContext,
  request: FastifyRequest,
  device: Device,
  server: ManagementServer | undefined,
) {
  const access = requireDevicePermission(request, device, 'ChangeDeviceDMServer');
  const to = server?.id ?? null;
  const current = await ctx.repo.transaction(async (tx) => {
    const now = (await tx.getDevice(device.mac)) ?? device;
    if (now.managementServerId === to) return now;

    await tx.setDeviceManagementServer(device.mac, to);
    await tx.appendAudit({
      actor: access.email,
      action: 'device.management-server',
      subject: `device:${device.mac}`,
      detail: {
        from: now.managementServerId,
        to,
        ...(server && { name: server.name, address: server.address, port: server.port }),
      },
    });
    return { ...now, managementServerId: to };
  });
  return presentAssigned(ctx.repo, current, ctx.info());
}
