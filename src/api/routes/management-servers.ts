import type { FastifyInstance } from 'fastify';
import { HomeportError } from '../../errors.js';
import type { ManagementServer } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { envelopeSchema, failureSchema, ok, paged, pagedSchema } from '../envelope.js';
import {
  fetchPresentedAnchor,
  parseAddress,
  readGivenAnchor,
  type Anchor,
} from '../management-anchor.js';
import {
  ADMINS,
  findDefinition,
  READERS,
  requireAdministers,
  requireOnDefinition,
  requireReaderAnywhere,
  visibleCompanies,
} from './management-server-access.js';
import {
  CO_LOCATED_ID,
  CO_LOCATED_NOTE,
  definitionBody,
  managementServerSchema,
  presentCoLocated,
  presentDefinition,
  type DefinitionBody,
} from './management-server-schemas.js';
import { bearer } from './schemas.js';

interface ListQuery {
  Name?: string;
  Address?: string;
  Port?: number;
}

const errors = { 400: failureSchema, 401: failureSchema, 403: failureSchema, 404: failureSchema };
const writeErrors = { ...errors, 409: failureSchema, 502: failureSchema };

const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 0, description: '0: the co-located MS' } },
} as const;

const ANCHOR_NOTE =
  'Without ca, the server connects to address:port over TLS, takes the self-signed root at the ' +
  "top of the chain the MS presents (checking each signature and that the MS's certificate " +
  'names address), and answers its fingerprint: compare it with server_root_fingerprint in ' +
  "that deployment's GET /api/info. 502 when the MS cannot be reached or presents no usable " +
  'chain; nothing is stored then.';

/**
 * `/api/bootstrap`: the definitions of Management Servers this deployment's BS may send devices
 * to instead of its own (ARCHITECTURE §4, wadmp notes §4.4). Reading needs ViewDMServer or
 * AdmDMServer in the definition's company, changing AdmDMServer; a definition of no company is
 * a SysAdmin's alone.
 */
export function registerManagementServerRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { repo } = ctx;

  app.get<{ Querystring: ListQuery }>(
    '/api/bootstrap',
    {
      schema: {
        tags: ['bootstrap'],
        summary: 'List Management Server definitions (ViewDMServer or AdmDMServer)',
        description:
          `${CO_LOCATED_NOTE} Name matches part of the name, Address the whole address, both ` +
          'in any case; empty parameters filter nothing.',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            Name: { type: 'string', maxLength: 100 },
            Address: { type: 'string', maxLength: 255 },
            Port: { type: 'integer', minimum: 1, maximum: 65535 },
          },
        },
        response: { 200: pagedSchema(managementServerSchema), ...errors },
      },
    },
    async (request) => {
      const access = requireReaderAnywhere(request);
      const { Name: name, Port: port } = request.query;
      // An empty parameter (`?Name=&Address=`, as generated clients send) filters nothing.
      const address = request.query.Address ? lenientAddress(request.query.Address) : undefined;
      const visible = visibleCompanies(access);
      const stored = await repo.listManagementServers({
        ...(name !== undefined && { name }),
        ...(address !== undefined && { address }),
        ...(port !== undefined && { port }),
        ...(visible !== 'all' && { companyIds: visible }),
      });
      const coLocated = presentCoLocated(ctx.info());
      const listed =
        (name === undefined || coLocated.name.toLowerCase().includes(name.toLowerCase())) &&
        (address === undefined || coLocated.address === address) &&
        (port === undefined || coLocated.port === port);
      const items = [...(listed ? [coLocated] : []), ...stored.map(presentDefinition)];
      return paged(items, items.length);
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/bootstrap/:id',
    {
      schema: {
        tags: ['bootstrap'],
        summary: 'Read one Management Server definition (ViewDMServer or AdmDMServer)',
        description: CO_LOCATED_NOTE,
        security: bearer,
        params: idParams,
        response: { 200: envelopeSchema(managementServerSchema), ...errors },
      },
    },
    async (request) => {
      if (request.params.id === CO_LOCATED_ID) {
        requireReaderAnywhere(request);
        return ok(presentCoLocated(ctx.info()));
      }
      const server = await findDefinition(repo, request.params.id);
      requireOnDefinition(request, server, READERS);
      return ok(presentDefinition(server));
    },
  );

  app.post<{ Body: DefinitionBody }>(
    '/api/bootstrap',
    {
      schema: {
        tags: ['bootstrap'],
        summary: 'Define a Management Server (AdmDMServer in company_id; SysAdmin for none)',
        description:
          `${ANCHOR_NOTE} A definition of the same address and port, or of this deployment's ` +
          'own MS, is 409 MANAGEMENT_SERVER_EXISTS with its id in details.id.',
        security: bearer,
        body: definitionBody,
        response: { 201: envelopeSchema(managementServerSchema), ...writeErrors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const address = parseAddress(body.address, "body field 'address'");
      const companyId = body.company_id ?? null;
      const access = await requireAdministers(repo, request, companyId);
      await checkFree(ctx, address, body.port, undefined);
      const anchor = await anchorFor(body, address);

      const created = await repo.transaction(async (tx) => {
        const server = await tx.createManagementServer(stored(body, address, companyId, anchor));
        await tx.appendAudit({
          actor: access.email,
          action: 'management-server.create',
          subject: `management-server:${server.id}`,
          detail: auditDetail(server, body),
        });
        return server;
      });
      return reply.status(201).send(ok(presentDefinition(created)));
    },
  );

  app.put<{ Params: { id: number }; Body: DefinitionBody }>(
    '/api/bootstrap/:id',
    {
      schema: {
        tags: ['bootstrap'],
        summary: 'Replace a Management Server definition (AdmDMServer in its old and new company)',
        description:
          'Takes the same body as POST and replaces every field: company_id left out is none, ' +
          'on_failure left out is home, and ca left out is taken from the MS again. ' +
          `${ANCHOR_NOTE} Devices assigned to it get the new address and anchor at their next ` +
          'bootstrap.',
        security: bearer,
        params: idParams,
        body: definitionBody,
        response: { 200: envelopeSchema(managementServerSchema), ...writeErrors },
      },
    },
    async (request) => {
      const id = request.params.id;
      if (id === CO_LOCATED_ID) throw readOnly('change');
      const current = await findDefinition(repo, id);
      const access = requireOnDefinition(request, current, ADMINS);
      const body = request.body;
      const address = parseAddress(body.address, "body field 'address'");
      const companyId = body.company_id ?? null;
      await requireAdministers(repo, request, companyId);
      await checkFree(ctx, address, body.port, id);
      const anchor = await anchorFor(body, address);

      const updated = await repo.transaction(async (tx) => {
        const server = await tx.updateManagementServer(
          id,
          stored(body, address, companyId, anchor),
        );
        await tx.appendAudit({
          actor: access.email,
          action: 'management-server.update',
          subject: `management-server:${id}`,
          detail: { ...auditDetail(server, body), before: auditDetail(current, undefined) },
        });
        return server;
      });
      return ok(presentDefinition(updated));
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/bootstrap/:id',
    {
      schema: {
        tags: ['bootstrap'],
        summary: 'Delete a Management Server definition (AdmDMServer in its company)',
        description:
          '409 MANAGEMENT_SERVER_IN_USE, with the number of devices in details.devices, while ' +
          'devices are assigned to it. The co-located MS (id 0) cannot be deleted.',
        security: bearer,
        params: idParams,
        response: { 200: envelopeSchema({ type: 'null' }), ...errors, 409: failureSchema },
      },
    },
    async (request) => {
      const id = request.params.id;
      if (id === CO_LOCATED_ID) throw readOnly('delete');
      const current = await findDefinition(repo, id);
      const access = requireOnDefinition(request, current, ADMINS);

      await repo.transaction(async (tx) => {
        await tx.deleteManagementServer(id);
        await tx.appendAudit({
          actor: access.email,
          action: 'management-server.delete',
          subject: `management-server:${id}`,
          detail: auditDetail(current, undefined),
        });
      });
      return ok(null);
    },
  );
}

/**
 * 409 when another definition, or this deployment's own MS, has this address and port, with
 * its id in `details.id`: callers that create idempotently use that one.
 */
async function checkFree(
  ctx: ApiContext,
  address: string,
  port: number,
  self: number | undefined,
): Promise<void> {
  const own = presentCoLocated(ctx.info());
  if (own.address === address && own.port === port) {
    throw new HomeportError(
      'MANAGEMENT_SERVER_EXISTS',
      `${address}:${port} is this deployment's own Management Server, listed as id 0; assign ` +
        'devices to it with serverId 0.',
      { details: { id: CO_LOCATED_ID } },
    );
  }
  const [existing] = await ctx.repo.listManagementServers({ address, port });
  if (!existing || existing.id === self) return;
  throw new HomeportError(
    'MANAGEMENT_SERVER_EXISTS',
    `The Management Server at ${address}:${port} is already defined: id ${existing.id} ` +
      `("${existing.name}"). Use that definition.`,
    { details: { id: existing.id } },
  );
}

function anchorFor(body: DefinitionBody, address: string): Promise<Anchor> {
  if (body.ca !== undefined) return Promise.resolve(readGivenAnchor(body.ca));
  return fetchPresentedAnchor(address, body.port);
}

function stored(body: DefinitionBody, address: string, companyId: number | null, anchor: Anchor) {
  return {
    name: body.name.trim(),
    address,
    port: body.port,
    companyId,
    caPem: anchor.pem,
    caFingerprint: anchor.fingerprint,
    onFailure: body.on_failure ?? 'home',
  };
}

function auditDetail(server: ManagementServer, body: DefinitionBody | undefined) {
  return {
    name: server.name,
    address: server.address,
    port: server.port,
    companyId: server.companyId,
    caFingerprint: server.caFingerprint,
    onFailure: server.onFailure,
    ...(body && { anchor: body.ca === undefined ? 'presented by the MS' : 'posted' }),
  };
}

function readOnly(what: 'change' | 'delete'): HomeportError {
  return new HomeportError(
    'MANAGEMENT_SERVER_READ_ONLY',
    `Cannot ${what} management server 0: it is this deployment's own Management Server, which ` +
      'is defined by the deployment itself.',
  );
}

/** A query address in the stored form when it is one; anything else matches nothing. */
function lenientAddress(text: string): string {
  try {
    return parseAddress(text, "query parameter 'Address'");
  } catch {
    return text.trim().toLowerCase();
  }
}
