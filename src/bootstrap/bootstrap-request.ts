import type { FastifyInstance } from 'fastify';
import { HomeportError } from '../errors.js';
import { deviceOf, type BootstrapContext, type ManagementTarget } from './context.js';
import { BOOTSTRAP_REASONS, recordFailure, type BootstrapReason } from './recovery.js';

interface BootstrapBody {
  reason?: BootstrapReason;
  failed_server?: string;
}

/** The short server id of the one management account Homeport writes (`/0/1` and `/1/0`). */
const SHORT_SERVER_ID = 1;

/**
 * The ordered Bootstrap-Delete and Bootstrap-Write operations, then Bootstrap-Finish
 * (LwM2M Core §6.1.7). `/0/0`, the bootstrap-server account, is never named: no operation
 * may delete or rewrite it (docs/protocol.md §2).
 */
export function bootstrapOperations(target: ManagementTarget, ctx: BootstrapContext) {
  const s = ctx.policy.server;
  return [
    { op: 'delete', path: '/0/1' },
    { op: 'delete', path: '/1/0' },
    {
      op: 'write',
      path: '/0/1',
      // LwM2M Core §E.1: 0 Server URI, 1 Bootstrap-Server, 2 Security Mode (4: Certificate
      // mode with EST), 5 Server Public Key (the MS trust anchor), 10 Short Server ID.
      value: { 0: target.uri, 1: false, 2: 4, 5: target.anchorPem, 10: SHORT_SERVER_ID },
    },
    {
      op: 'write',
      path: '/1/0',
      // LwM2M Core §E.2: 0 Short Server ID, 1 Lifetime, 16 Bootstrap on Registration Failure,
      // 17-20 the communication retry timers.
      value: {
        0: SHORT_SERVER_ID,
        1: s.lifetime,
        16: true,
        17: s.retryCount,
        18: s.retryTimer,
        19: s.sequenceDelay,
        20: s.sequenceRetryCount,
      },
    },
    { op: 'finish' },
  ];
}

/** `POST /bs?ep=…`: the Bootstrap-Request (docs/protocol.md §3.1). */
export function registerBootstrapRequest(app: FastifyInstance, ctx: BootstrapContext): void {
  app.post<{ Querystring: { ep: string }; Body: BootstrapBody | undefined }>(
    '/bs',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['ep'],
          properties: { ep: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            reason: { type: 'string', enum: [...BOOTSTRAP_REASONS] },
            failed_server: { type: 'string', maxLength: 300 },
          },
        },
      },
    },
    async (request, reply) => {
      const wait = ctx.holdOff.admit();
      if (wait > 0) {
        void reply.header('retry-after', String(wait));
        throw new HomeportError(
          'BOOTSTRAP_HOLD_OFF',
          `Too many devices are bootstrapping; retry in ${wait} s.`,
        );
      }

      const { device, credential } = await deviceOf(ctx, request, request.query.ep);
      const reason = request.body?.reason ?? 'initial';
      const current = await recordFailure(ctx, device, reason, request.body?.failed_server);

      const target = await ctx.managementTargetFor(current);
      request.log.debug({ mac: device.mac, credential, reason, ms: target.uri }, 'bootstrap');
      return {
        operations: bootstrapOperations(target, ctx),
        est: { path: '/.well-known/est', reenroll: credential === 'operational' },
      };
    },
  );
}
