import type { FastifyInstance } from 'fastify';
import { HomeportError } from '../../errors.js';
import type { Company, Repository } from '../../store/index.js';
import {
  accessOf,
  permissionNotHeld,
  requireAnywhere,
  requirePermission,
} from '../auth/authenticate.js';
import type { ApiContext } from '../context.js';
import { envelopeSchema, failureSchema, ok, paged, pagedSchema } from '../envelope.js';
import { bearer, companySchema, idParams, pagingQuery } from './schemas.js';

interface ListQuery {
  name?: string;
  page: number;
  pageSize: number;
}

interface CreateBody {
  name: string;
  contact_name?: string;
  parent_id?: number | null;
}

const errors = { 400: failureSchema, 401: failureSchema, 403: failureSchema, 404: failureSchema };

async function present(repo: Repository, company: Company) {
  const parent = company.parentId === null ? undefined : await repo.getCompany(company.parentId);
  return {
    id: company.id,
    name: company.name,
    contact_name: company.contactName,
    parent: parent ? { id: parent.id, name: parent.name } : null,
    created_at: company.createdAt,
  };
}

/** `/api/companies`: the company tree that permissions hang on. */
export function registerCompanyRoutes(app: FastifyInstance, { repo }: ApiContext): void {
  app.get<{ Querystring: ListQuery }>(
    '/api/companies',
    {
      schema: {
        tags: ['companies'],
        summary: 'List the companies you may view (ViewCompany)',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 200 }, ...pagingQuery },
        },
        response: { 200: pagedSchema(companySchema), ...errors },
      },
    },
    async (request) => {
      const visible = requireAnywhere(request, 'ViewCompany').companiesWith('ViewCompany');
      const { name, page, pageSize } = request.query;
      const { items, total } = await repo.listCompanies({
        ...(name !== undefined && { name }),
        ...(visible !== 'all' && { ids: visible }),
        page,
        pageSize,
      });
      return paged(await Promise.all(items.map((c) => present(repo, c))), total);
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/companies/:id',
    {
      schema: {
        tags: ['companies'],
        summary: 'Read one company (ViewCompany in it)',
        security: bearer,
        params: idParams,
        response: { 200: envelopeSchema(companySchema), ...errors },
      },
    },
    async (request) => {
      const company = await repo.getCompany(request.params.id);
      if (!company) throw companyNotFound(request.params.id);
      requirePermission(request, 'ViewCompany', company.id);
      return ok(await present(repo, company));
    },
  );

  app.post<{ Body: CreateBody }>(
    '/api/companies',
    {
      schema: {
        tags: ['companies'],
        summary: 'Create a company (SysAdmin at the top level, CreateCompany in the parent)',
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
            contact_name: { type: 'string', maxLength: 200 },
            parent_id: { type: ['integer', 'null'], minimum: 1 },
          },
        },
        response: { 201: envelopeSchema(companySchema), ...errors, 409: failureSchema },
      },
    },
    async (request, reply) => {
      const { name, contact_name, parent_id } = request.body;
      const access = accessOf(request);
      if (parent_id == null && !access.isSysAdmin) {
        throw permissionNotHeld(
          'CreateCompany',
          'a parent company (only a SysAdmin makes top-level ones); set parent_id',
        );
      }
      if (parent_id != null) {
        if (!(await repo.getCompany(parent_id))) throw companyNotFound(parent_id, 'parent_id');
        requirePermission(request, 'CreateCompany', parent_id);
      }

      const company = await repo.transaction(async (tx) => {
        const created = await tx.createCompany({
          name: name.trim(),
          ...(contact_name !== undefined && { contactName: contact_name }),
          ...(parent_id != null && { parentId: parent_id }),
        });
        await tx.appendAudit({
          actor: access.email,
          action: 'company.create',
          subject: `company:${created.id}`,
          detail: { name: created.name, parentId: created.parentId },
        });
        return created;
      });
      return reply.status(201).send(ok(await present(repo, company)));
    },
  );
}

function companyNotFound(id: number, field = 'id'): HomeportError {
  return new HomeportError('COMPANY_NOT_FOUND', `Company ${id} (${field}) does not exist.`);
}
