import type { FastifyInstance } from 'fastify';
import { HomeportError } from '../../errors.js';
import { COMMAND_TYPES, type CommandType } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { envelopeSchema, failureSchema, ok, paged, pagedSchema } from '../envelope.js';
import type { Permission } from '../permissions.js';
import { findDevice, macParams, requireDevicePermission } from './device-access.js';
import { commandSchema, presentCommand } from './device-schemas.js';
import { bearer, pagingQuery } from './schemas.js';

const errors = { 400: failureSchema, 401: failureSchema, 403: failureSchema, 404: failureSchema };

/** What each command does on the device (docs/protocol.md §4.1) and who may send it. */
const COMMANDS: Record<
  CommandType,
  { summary: string; permissions: [Permission, ...Permission[]] }
> = {
  'trigger-bootstrap': {
    summary:
      'Make the device bootstrap again now, Execute /1/0/9 (EditDevice or ChangeDeviceDMServer)',
    permissions: ['EditDevice', 'ChangeDeviceDMServer'],
  },
  reboot: {
    summary: 'Restart the device, Execute /3/0/4 (EditDevice in its company)',
    permissions: ['EditDevice'],
  },
};

const commandParams = {
  type: 'object',
  additionalProperties: false,
  required: ['mac', 'id'],
  properties: { ...macParams.properties, id: { type: 'integer', minimum: 1 } },
} as const;

/**
 * `/api/management/devices/{mac}/commands`: queue a command for a device and follow it. The
 * MS delivers queued commands as soon as the device is connected.
 */
export function registerCommandRoutes(app: FastifyInstance, { repo, live }: ApiContext): void {
  for (const type of COMMAND_TYPES) {
    const { summary, permissions } = COMMANDS[type];
    app.post<{ Params: { mac: string } }>(
      `/api/management/devices/:mac/commands/${type}`,
      {
        schema: {
          tags: ['commands'],
          summary,
          security: bearer,
          params: macParams,
          response: { 201: envelopeSchema(commandSchema), ...errors },
        },
      },
      async (request, reply) => {
        const device = await findDevice(repo, request.params.mac);
        const access = requireDevicePermission(request, device, ...permissions);

        const command = await repo.transaction(async (tx) => {
          const created = await tx.createCommand({
            deviceMac: device.mac,
            type,
            actor: access.email,
          });
          await tx.appendAudit({
            actor: access.email,
            action: `command.${type}`,
            subject: `device:${device.mac}`,
            detail: { commandId: created.id },
          });
          return created;
        });
        live.commandsQueued(device.mac);
        return reply.status(201).send(ok(presentCommand(command)));
      },
    );
  }

  app.get<{ Params: { mac: string }; Querystring: { page: number; pageSize: number } }>(
    '/api/management/devices/:mac/commands',
    {
      schema: {
        tags: ['commands'],
        summary: "List a device's commands, newest first (ViewDevice in its company)",
        security: bearer,
        params: macParams,
        querystring: { type: 'object', additionalProperties: false, properties: pagingQuery },
        response: { 200: pagedSchema(commandSchema), ...errors },
      },
    },
    async (request) => {
      const device = await findDevice(repo, request.params.mac);
      requireDevicePermission(request, device, 'ViewDevice');
      const { page, pageSize } = request.query;
      const { items, total } = await repo.listCommands(device.mac, { page, pageSize });
      return paged(items.map(presentCommand), total);
    },
  );

  app.get<{ Params: { mac: string; id: number } }>(
    '/api/management/devices/:mac/commands/:id',
    {
      schema: {
        tags: ['commands'],
        summary: 'Read one command of a device (ViewDevice in its company)',
        security: bearer,
        params: commandParams,
        response: { 200: envelopeSchema(commandSchema), ...errors },
      },
    },
    async (request) => {
      const device = await findDevice(repo, request.params.mac);
      requireDevicePermission(request, device, 'ViewDevice');
      const command = await repo.getCommand(request.params.id);
      if (!command || command.deviceMac !== device.mac) {
        throw new HomeportError(
          'COMMAND_NOT_FOUND',
          `Device ${device.mac} has no command ${request.params.id}.`,
        );
      }
      return ok(presentCommand(command));
    },
  );
}
