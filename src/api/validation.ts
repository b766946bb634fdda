import { Ajv } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
  });
  return addFormats(ajv);
}

// Query strings and path parameters arrive as text, so they are coerced to the schema's types
// (and `companies=1&companies=2` to an array). Bodies are JSON and are taken as sent: a number
// where a string belongs is an error, not a conversion.
const coercing = makeAjv('array');
const strict = makeAjv(false);

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema);
