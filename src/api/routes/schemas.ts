/** JSON Schemas shared by several routes. */

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;

export const pagingQuery = {
  page: { type: 'integer', minimum: 1, default: 1 },
  pageSize: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
} as const;

export const companyRef = {
  type: ['object', 'null'],
  properties: { id: { type: 'integer' }, name: { type: 'string' } },
} as const;

export const companySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    contact_name: { type: ['string', 'null'] },
    parent: companyRef,
    created_at: { type: 'string' },
  },
} as const;

export const membershipSchema = {
  type: 'object',
  properties: {
    company: companyRef,
    permissions: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    email: { type: 'string' },
    first_name: { type: 'string' },
    last_name: { type: 'string' },
    is_sysadmin: { type: 'boolean' },
    companies: { type: 'array', items: membershipSchema },
    created_at: { type: 'string' },
  },
} as const;

export const bearer = [{ bearer: [] }];
