import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HomeportError } from '../../errors.js';
import type { Repository, TrustList, TrustedCertificate } from '../../store/index.js';
import { requireAnywhere, requireSysAdmin } from '../auth/authenticate.js';
import type { ApiContext } from '../context.js';
import { envelopeSchema, failureSchema, ok } from '../envelope.js';
import { bundleText, entityTag, ifMatchHolds, readTrustBundle } from '../trust-bundle.js';
import { bearer } from './schemas.js';

interface PutRequest {
  Body: { certs: string };
  Querystring: { force?: boolean };
  Headers: { 'if-match'?: string };
}

/** One trust list and what changing it means; the routes of both lists are built from this. */
interface TrustStore {
  list: TrustList;
  path: string;
  tag: string;
  what: string;
  /** Who may read it: a SysAdmin, or also holders of ViewDMServer. */
  readers: 'sysadmin' | 'ViewDMServer';
  requireRoots: boolean;
  apply(pems: readonly string[]): Promise<void>;
  /** Refuses a change that needs `?force=true`, given the current and the new list. */
  guard?(current: readonly TrustedCertificate[], next: readonly TrustedCertificate[]): void;
}

const bundleSchema = {
  type: 'object',
  properties: {
    certs: { type: 'string', description: 'base64 of a PEM bundle of CA certificates' },
  },
} as const;

const errors = { 400: failureSchema, 401: failureSchema, 403: failureSchema } as const;

/**
 * `/api/certs`, the device CAs the Management Server trusts (ARCHITECTURE §2, docs/protocol.md
 * §4), and `/api/manufacturers`, the CAs whose factory certificates the Bootstrap Server
 * accepts. Both are read and replaced whole, as base64 PEM bundles, with an ETag so that a
 * read-modify-write (the move tool, §4 step 3) can be made conditional with `If-Match`.
 */
export function registerTrustStoreRoutes(app: FastifyInstance, ctx: ApiContext): void {
  registerTrustStore(app, ctx.repo, {
    list: 'management',
    path: '/api/certs',
    tag: 'trust store',
    what: 'the device CAs the Management Server trusts',
    readers: 'ViewDMServer',
    requireRoots: true,
    apply: (pems) => ctx.live.applyManagementTrust(pems),
    guard: (current, next) => keepDeviceRoot(ctx.deviceRootFingerprint, current, next),
  });
  registerTrustStore(app, ctx.repo, {
    list: 'manufacturers',
    path: '/api/manufacturers',
    tag: 'trust store',
    what: 'the manufacturer CAs whose factory certificates the Bootstrap Server accepts',
    readers: 'sysadmin',
    requireRoots: false,
    apply: (pems) => ctx.live.applyManufacturers(pems),
  });
}

function registerTrustStore(app: FastifyInstance, repo: Repository, store: TrustStore): void {
  const serialize = serializer();
  const readers = store.readers === 'sysadmin' ? 'SysAdmin' : 'SysAdmin or ViewDMServer';

  app.get(
    store.path,
    {
      schema: {
        tags: [store.tag],
        summary: `Read ${store.what} (${readers})`,
        description: 'The ETag header identifies this version; send it back in If-Match to PUT.',
        security: bearer,
        response: { 200: envelopeSchema(bundleSchema), ...errors },
      },
    },
    async (request, reply) => {
      if (store.readers === 'sysadmin') requireSysAdmin(request, `read ${store.what}`);
      else requireAnywhere(request, 'ViewDMServer');
      return answer(reply, await repo.getTrustList(store.list));
    },
  );

  app.put<PutRequest>(
    store.path,
    {
      schema: {
        tags: [store.tag],
        summary: `Replace ${store.what} (SysAdmin)`,
        description:
          'Takes effect at once. Every entry must be a CA certificate' +
          (store.requireRoots ? ' that chains to a self-signed root in the bundle' : '') +
          '; repeated certificates are dropped. With If-Match the change is made only if the ' +
          'list is still the version with that ETag (else 412).',
        security: bearer,
        headers: {
          type: 'object',
          properties: { 'if-match': { type: 'string', description: 'An ETag from GET, or *' } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            force: { type: 'boolean', description: 'Allow a change that locks devices out' },
          },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['certs'],
          properties: { certs: { ...bundleSchema.properties.certs, maxLength: 1_000_000 } },
        },
        response: {
          200: envelopeSchema(bundleSchema),
          ...errors,
          409: failureSchema,
          412: failureSchema,
        },
      },
    },
    async (request, reply) => {
      const access = requireSysAdmin(request, `replace ${store.what}`);
      const next = readTrustBundle(request.body.certs, { requireRoots: store.requireRoots });

      // One replacement at a time, so that If-Match compares against what is really replaced.
      return serialize(async () => {
        const replaced = await repo.transaction(async (tx) => {
          const current = await tx.getTrustList(store.list);
          checkPreconditions(request, store, current, next);
          await tx.replaceTrustList(store.list, next);
          await tx.appendAudit({
            actor: access.email,
            action: `trust.${store.list}.replace`,
            subject: `trust:${store.list}`,
            detail: changeSummary(current, next, request.query.force === true),
          });
          return next;
        });
        await store.apply(replaced.map(({ pem }) => pem));
        return answer(reply, replaced);
      });
    },
  );
}

function checkPreconditions(
  request: FastifyRequest<PutRequest>,
  store: TrustStore,
  current: readonly TrustedCertificate[],
  next: readonly TrustedCertificate[],
): void {
  const etag = entityTag(current);
  if (!ifMatchHolds(request.headers['if-match'], etag)) {
    throw new HomeportError(
      'PRECONDITION_FAILED',
      `Cannot replace ${store.what}: the list changed since you read it (If-Match ` +
        `${request.headers['if-match']}, current ETag ${etag}). Read it again and reapply your change.`,
    );
  }
  if (request.query.force !== true) store.guard?.(current, next);
}

/** The MS must keep trusting this deployment's own devices unless told otherwise. */
function keepDeviceRoot(
  fingerprint: string,
  current: readonly TrustedCertificate[],
  next: readonly TrustedCertificate[],
): void {
  const had = current.some((cert) => cert.fingerprint === fingerprint);
  const keeps = next.some((cert) => cert.fingerprint === fingerprint);
  if (!had || keeps) return;
  throw new HomeportError(
    'DEVICE_ROOT_REMOVAL',
    `Cannot replace the trust store: the bundle leaves out this deployment's own device root CA ` +
      `(SHA-256 ${fingerprint}), so devices enrolled here could no longer connect to its MS. ` +
      'Keep it in the bundle, or send ?force=true to remove it on purpose.',
  );
}

function changeSummary(
  current: readonly TrustedCertificate[],
  next: readonly TrustedCertificate[],
  forced: boolean,
) {
  const before = new Set(current.map((cert) => cert.fingerprint));
  const after = new Set(next.map((cert) => cert.fingerprint));
  return {
    added: [...after].filter((fp) => !before.has(fp)),
    removed: [...before].filter((fp) => !after.has(fp)),
    count: next.length,
    forced,
  };
}

function answer(reply: FastifyReply, list: readonly TrustedCertificate[]) {
  reply.header('etag', entityTag(list));
  return ok({ certs: Buffer.from(bundleText(list), 'utf8').toString('base64') });
}

/** Runs the functions given to it one after another, in the order they were given. */
function serializer() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
