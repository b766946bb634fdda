/**
 * The device side of Homeport: the production line that makes factory credentials, and the
 * device agent that bootstraps, enrolls and stays managed as docs/protocol.md describes, alone
 * or by the thousand in the simulator.
 *
 * @example
 *   import { runFactory, DeviceAgent, startSimulator } from '../device/index.js';
 */
export {
  DeviceAgent,
  type AgentStats,
  type DeviceAgentOptions,
  type StateChange,
} from './agent.js';
export {
  bootstrapBackoffSeconds,
  parseRetryAfter,
  retryAfterSeconds,
  retryPolicy,
  RetrySchedule,
  type Random,
  type RetryPolicy,
} from './backoff.js';
export { BootstrapServerError, requestBootstrap } from './bootstrap-client.js';
export { chooseCredential, runBootstrap, type BootstrapOutcome } from './bootstrap-flow.js';
export {
  applyBootstrapOperations,
  bootstrapAccountPaths,
  managementAccount,
  type IgnoredOperation,
} from './bootstrap-ops.js';
export { createKeyAndCsr, enroll } from './est-client.js';
export {
  MAX_FACTORY_COUNT,
  runFactory,
  type FactoryOptions,
  type FactorySummary,
} from './factory.js';
export { Semaphore, type ConcurrencyGate } from './gate.js';
export {
  listFactoryDevices,
  readFactoryDevice,
  type DeviceIdentity,
  type FactoryDevice,
} from './identity.js';
export { deviceTopics, MqttSession } from './mqtt-session.js';
export {
  DEFAULT_MAC_PREFIX,
  imeiFor,
  isValidImei,
  luhnCheckDigit,
  macAddress,
  parseMacPrefix,
  serialNumberFor,
} from './numbering.js';
export { executePath, objectTree, planWrite, readPath, type ResponseCode } from './objects.js';
export { fromSenml, toSenml, type SenmlRecord } from './senml.js';
export {
  startSimulator,
  type Simulator,
  type SimulatorCounts,
  type SimulatorOptions,
} from './simulator.js';
export {
  DeviceStore,
  type BootstrapAccount,
  type DeviceStateFile,
  type SaveStep,
} from './state.js';
export { AgentTimers, type TimerFunctions } from './timers.js';
export type { AgentState, BootstrapReason, Instances, ResourceValue } from './types.js';
