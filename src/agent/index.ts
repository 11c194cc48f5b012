/** The agent core's public surface. */
export { Agent, STOP_TIMEOUT_MS, type AgentOptions } from './agent.js';
export type { AgentStatus } from './status.js';
export type { CloudPort, SupervisorPort, TagsPort, PollResult } from './ports.js';
export { ACK_STATES, formatAck, parseAck, type AckState } from './acks.js';
export { readBootId } from './boot-id.js';
