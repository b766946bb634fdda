import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { envelopeSchema, ok } from '../envelope.js';

const endpoint = {
  type: 'object',
  properties: { host: { type: 'string' }, port: { type: 'integer' }, url: { type: 'string' } },
} as const;

const infoSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    services: {
      type: 'object',
      properties: { api: endpoint, bootstrap: endpoint, management: endpoint, content: endpoint },
    },
    server_root_fingerprint: {
      type: 'string',
      description: 'SHA-256 of the server root certificate (DER), lowercase hex',
    },
  },
} as const;

/** `GET /api/info`: what a client needs to find and pin this deployment. No token needed. */
export function registerInfoRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/info',
    {
      schema: {
        tags: ['deployment'],
        summary: "The deployment's name, service addresses and server root fingerprint",
        response: { 200: envelopeSchema(infoSchema) },
      },
    },
    () => {
      const info = ctx.info();
      return ok({
        name: info.name,
        services: info.services,
        server_root_fingerprint: info.serverRootFingerprint,
      });
    },
  );
}
