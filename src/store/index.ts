/**
 * The store: everything Homeport keeps in SQLite or PostgreSQL, behind `Repository`.
 *
 * @example
 *   import { openStore } from './store/index.js';
 *   const repo = await openStore(process.env.HOMEPORT_DATABASE_URL, { dataDir });
 */
export { openStore, SQLITE_FILE, type OpenStoreOptions } from './open.js';
export { MAX_PAGE_SIZE } from './sql-helpers.js';
export type { Repository } from './repository.js';
export type * from './types.js';
export type * from './device-types.js';
export { COMMAND_STATES, COMMAND_TYPES, ON_FAILURE_POLICIES } from './device-types.js';
