/**
 * What the Bootstrap Server tells devices and how it protects itself. Times are seconds.
 */
export interface BootstrapPolicy {
  /** Server object `/1/0` values written to every device (LwM2M Core §E.2). */
  server: {
    /** Resource 1, Lifetime: how often the device sends an Update. */
    lifetime: number;
    /** Resource 17, Communication Retry Count. */
    retryCount: number;
    /** Resource 18, Communication Retry Timer: the first wait; it doubles with each retry. */
    retryTimer: number;
    /** Resource 19, Communication Sequence Delay Timer. */
    sequenceDelay: number;
    /** Resource 20, Communication Sequence Retry Count. */
    sequenceRetryCount: number;
  };
  /** Validity of operational certificates, days. */
  certificateDays: number;
  /** Client hold-off: bootstrap requests admitted per second, and the burst allowed. */
  admitPerSecond: number;
  admitBurst: number;
  /** A refused device is told to come back within this many seconds (spread at random). */
  holdOffSpread: number;
}

export const DEFAULT_BOOTSTRAP_POLICY: BootstrapPolicy = {
  server: { lifetime: 300, retryCount: 3, retryTimer: 2, sequenceDelay: 10, sequenceRetryCount: 2 },
  certificateDays: 365,
  admitPerSecond: 200,
  admitBurst: 400,
  holdOffSpread: 10,
};
