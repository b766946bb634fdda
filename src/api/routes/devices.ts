import type { FastifyInstance } from 'fastify';
import { canonicalMac } from '../../common/mac.js';
import { HomeportError } from '../../errors.js';
import type { DeviceQuery } from '../../store/index.js';
import { requireAnywhere } from '../auth/authenticate.js';
import type { ApiContext } from '../context.js';
import { envelopeSchema, failureSchema, ok, paged, pagedSchema } from '../envelope.js';
import type { AccessContext } from '../permissions.js';
import { findDevice, macParams, requireDevicePermission } from './device-access.js';
import {
  certificateSchema,
  deviceDetailSchema,
  devicePresenter,
  deviceSchema,
  presentCertificate,
} from './device-schemas.js';
import { presentAssigned } from './management-server-schemas.js';
import { bearer, pagingQuery } from './schemas.js';

interface ListQuery {
  page: number;
  pageSize: number;
  name?: string;
  search?: string;
  companies?: number[];
  isOnline?: boolean;
}

const errors = { 400: failureSchema, 401: failureSchema, 403: failureSchema, 404: failureSchema };

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...pagingQuery,
    name: { type: 'string', maxLength: 100, description: 'Part of the alias, any case' },
    search: { type: 'string', maxLength: 64, description: 'Part of the MAC or serial number' },
    companies: {
      type: 'array',
      maxItems: 100,
      items: { type: 'integer', minimum: 1 },
      description: 'Only devices of these companies: companies=1&companies=2',
    },
    isOnline: { type: 'boolean' },
  },
} as const;

/** `/api/management/devices`: the devices you may see, one device, its certificate. */
export function registerDeviceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { repo } = ctx;

  app.get<{ Querystring: ListQuery }>(
    '/api/management/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'List devices in the companies where you hold ViewDevice',
        description: 'Devices of no company (unclaimed) are listed to a SysAdmin only.',
        security: bearer,
        querystring: listQuery,
        response: { 200: pagedSchema(deviceSchema), ...errors },
      },
    },
    async (request) => {
      const access = requireAnywhere(request, 'ViewDevice');
      const { page, pageSize, name, search, isOnline } = request.query;
      const { items, total } = await repo.listDevices({
        ...visibility(access, request.query.companies),
        ...(name !== undefined && { name }),
        ...(search !== undefined && { search: searchTerm(search) }),
        ...(isOnline !== undefined && { isOnline }),
        page,
        pageSize,
      });
      const present = devicePresenter(repo);
      return paged(await Promise.all(items.map(present)), total);
    },
  );

  app.get<{ Params: { mac: string } }>(
    '/api/management/devices/:mac',
    {
      schema: {
        tags: ['devices'],
        summary: 'Read one device with its certificate and servers (ViewDevice in its company)',
        security: bearer,
        params: macParams,
        response: { 200: envelopeSchema(deviceDetailSchema), ...errors },
      },
    },
    async (request) => {
      const device = await findDevice(repo, request.params.mac);
      requireDevicePermission(request, device, 'ViewDevice');

      const certificate = await repo.latestCertificate(device.mac);
      return ok({
        ...(await devicePresenter(repo)(device)),
        certificate: certificate ? presentCertificate(certificate) : null,
        bootstrap_server_uri: device.bootstrapServerUri,
        management_server: await presentAssigned(repo, device, ctx.info()),
      });
    },
  );

  app.post<{ Params: { mac: string } }>(
    '/api/management/devices/:mac/certificate/revoke',
    {
      schema: {
        tags: ['devices'],
        summary: "Revoke the device's current certificate (EditDevice in its company)",
        description:
          'The device can no longer use it with the BS or the MS; it bootstraps again with its ' +
          'factory certificate. Revoking a certificate that is already revoked changes nothing.',
        security: bearer,
        params: macParams,
        response: { 200: envelopeSchema(certificateSchema), ...errors },
      },
    },
    async (request) => {
      const device = await findDevice(repo, request.params.mac);
      const access = requireDevicePermission(request, device, 'EditDevice');
      const current = await repo.latestCertificate(device.mac);
      if (!current) {
        throw new HomeportError(
          'CERTIFICATE_NOT_FOUND',
          `Cannot revoke the certificate of device ${device.mac}: the BS has issued it none.`,
        );
      }
      if (current.revokedAt !== null) return ok(presentCertificate(current));

      const revoked = await repo.transaction(async (tx) => {
        await tx.revokeCertificate(current.serial, new Date().toISOString());
        await tx.appendAudit({
          actor: access.email,
          action: 'certificate.revoke',
          subject: `device:${device.mac}`,
          detail: { serial: current.serial, issuer: current.issuer },
        });
        return tx.getCertificate(current.serial);
      });
      // A revoked certificate must not keep a session it opened before.
      ctx.live.disconnectDevice(device.mac);
      return ok(presentCertificate(revoked ?? current));
    },
  );
}

/**
 * Which companies' devices a listing may return: those where the caller holds ViewDevice,
 * narrowed to `companies` if given. Unclaimed devices only reach a SysAdmin who did not
 * narrow the list.
 */
function visibility(access: AccessContext, companies: number[] | undefined): Partial<DeviceQuery> {
  const visible = access.companiesWith('ViewDevice');
  if (visible === 'all') return companies ? { companyIds: companies } : {};
  const companyIds = companies ? visible.filter((id) => companies.includes(id)) : visible;
  return { companyIds };
}

/**
 * A search for a whole MAC written with dashes or dots is turned into the canonical form the
 * store holds. Bare hex stays as it is: it may as well be (part of) a serial number.
 */
function searchTerm(search: string): string {
  if (!/[-.:]/.test(search)) return search;
  return canonicalMac(search) ?? search;
}
