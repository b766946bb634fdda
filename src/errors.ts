/**
 * The error catalog. Every failure Homeport reports has a stable code, the HTTP status it
 * maps to where it reaches the API, and a message that says what could not be done and why.
 * Codes are never reused; docs/errors.md lists them.
 *
 * @example
 *   throw new HomeportError('COMPANY_NOT_FOUND', `Cannot read company ${id}: it does not exist.`);
 */
export const ERROR_CODES = {
  // Requests
  VALIDATION: 400,
  MALFORMED_BODY: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ROUTE_NOT_FOUND: 404,
  INTERNAL: 500,
  // Authentication and permissions
  UNAUTHENTICATED: 401,
  INVALID_GRANT: 400,
  UNSUPPORTED_GRANT_TYPE: 400,
  TOO_MANY_ATTEMPTS: 429,
  FORBIDDEN: 403,
  PERMISSION_NOT_HELD: 403,
  UNKNOWN_PERMISSION: 400,
  // Companies and users
  COMPANY_NOT_FOUND: 404,
  COMPANY_EXISTS: 409,
  USER_NOT_FOUND: 404,
  USER_EXISTS: 409,
  // PKI
  PEM_INVALID: 400,
  CSR_INVALID: 400,
  CSR_KEY_REJECTED: 400,
  CSR_SUBJECT_MISMATCH: 400,
  PKI_INCOMPLETE: 500,
  PKCS7_INVALID: 400,
  // Deployment
  DATA_DIR_LOCKED: 409,
  CONFIG_INVALID: 400,
  // Devices, bootstrap and management
  MAC_INVALID: 400,
  DEVICE_EXISTS: 409,
  DEVICE_NOT_FOUND: 404,
  DEVICE_NOT_REGISTERED: 403,
  DEVICE_CERT_REQUIRED: 401,
  DEVICE_CERT_UNTRUSTED: 403,
  DEVICE_CERT_MISMATCH: 403,
  DEVICE_CERT_REVOKED: 403,
  BOOTSTRAP_HOLD_OFF: 503,
  COMMAND_NOT_FOUND: 404,
  TRUST_STORE_INVALID: 400,
  PRECONDITION_FAILED: 412,
  CERTIFICATE_NOT_FOUND: 404,
  DEVICE_ROOT_REMOVAL: 409,
  // Management-server definitions and device moves
  MANAGEMENT_SERVER_NOT_FOUND: 404,
  MANAGEMENT_SERVER_EXISTS: 409,
  MANAGEMENT_SERVER_IN_USE: 409,
  MANAGEMENT_SERVER_READ_ONLY: 400,
  MANAGEMENT_SERVER_ADDRESS_INVALID: 400,
  ANCHOR_INVALID: 400,
  MANAGEMENT_SERVER_UNREACHABLE: 502,
  MANAGEMENT_SERVER_CHAIN_INVALID: 502,
  // Content Server
  CONTENT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  // Command line: server profiles and the API client
  PROFILE_NOT_FOUND: 404,
  PROFILES_INVALID: 400,
  LOGIN_REQUIRED: 401,
  SERVER_UNREACHABLE: 502,
  SERVER_ANSWER_INVALID: 502,
  CSV_INVALID: 400,
  // Device agent and production line
  FACTORY_DIR_NOT_EMPTY: 409,
  DEVICE_STATE_INVALID: 400,
  BOOTSTRAP_FAILED: 502,
  // Moving devices between deployments (homeport move)
  MOVE_DEVICE_AMBIGUOUS: 409,
  MOVE_HOME_UNKNOWN: 404,
  MOVE_PERMISSION_MISSING: 403,
  MOVE_SERVER_ROOT_MISMATCH: 502,
  MOVE_TRUST_CONFLICT: 409,
  MOVE_NOT_ARRIVED: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Facts a client can act on without parsing the message, such as the id of what exists. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null>>;

export class HomeportError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Sent to API clients as `details` beside the code and message. */
  readonly details: ErrorDetails | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: ErrorDetails },
  ) {
    super(message, options);
    this.name = 'HomeportError';
    this.code = code;
    this.status = ERROR_CODES[code];
    this.details = options?.details;
  }
}

export function isHomeportError(err: unknown, code?: ErrorCode): err is HomeportError {
  return err instanceof HomeportError && (code === undefined || err.code === code);
}
