/** What log forwarding counts, for `/metrics`, `/status` and the health reasons (PRODUCT §5). */

/** One sink's counters since the agent started (`dropped` also counts lines a sink refused for good). */
export interface SinkStats {
  /** The sink as `AGENT_LOGS_FORWARD` names it, with any credentials in its URL removed. */
  sink: string;
  sent: number;
  dropped: number;
}

/** The forwarder's figures at one moment. */
export interface LogStats {
  sinks: readonly SinkStats[];
  /** Bytes the disk spool holds now. */
  spoolBytes: number;
}
