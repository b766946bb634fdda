/**
 * Moving devices between independent deployments (ARCHITECTURE §4), for `homeport move`, the
 * demo and the benchmarks: a list of named steps per device, each idempotent, with the steps
 * a server pair shares run once.
 *
 * @example
 *   import { moveDevices } from '../move/index.js';
 *   const report = await moveDevices({ servers, devices: ['00:0A:14:81:22:33'], to: 'server2' });
 */
export { executeMove, moveDevices, planMove, type MovePlan } from './move.js';
export { MoveCalls } from './calls.js';
export { listDevices } from './resolve.js';
export { mergeTrust, countMissingTrust, TRUST_ATTEMPTS, type TrustMerge } from './trust.js';
export { normalizeServerUri, sameServerUri } from './server-uri.js';
export { serverRootOf, type ServerRoot } from './server-root.js';
export {
  MOVE_STEPS,
  type ApiCall,
  type DeviceResult,
  type MoveOptions,
  type MoveReport,
  type MoveServer,
  type MoveState,
  type MoveStatus,
  type StepName,
} from './types.js';
