import type { ServiceName } from '../api/context.js';

/** The ports each service listens on unless told otherwise (ARCHITECTURE §1). */
export const DEFAULT_PORTS: Record<ServiceName, number> = {
  api: 8443,
  bootstrap: 8884,
  management: 8883,
  content: 8885,
};
