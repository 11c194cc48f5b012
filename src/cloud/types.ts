/** Shapes the cloud client returns (plain data, independent of the API's row layout). */

/** The device's own record, as the agent needs it. */
export interface DeviceRecord {
  id: number;
  uuid: string;
  deviceName: string;
  appId: number;
  appName?: string;
  supervisorVersion?: string;
  osVersion?: string;
  isOnline?: boolean;
}

/** Everything one poll reads, in one request: the device, its tags and variables, the fleet's. */
export interface PollSnapshot {
  device: DeviceRecord;
  deviceTags: Record<string, string>;
  fleetTags: Record<string, string>;
  deviceVars: Record<string, string>;
  fleetVars: Record<string, string>;
}

/** Where a variable's value came from (CONTRACT §4.4 precedence, highest first). */
export type VariableSource = 'device+service' | 'device' | 'fleet+service' | 'fleet' | 'device-config' | 'fleet-config';

/** One variable as it applies to this device. */
export interface EffectiveVariable {
  name: string;
  value: string;
  source: VariableSource;
  /** The service a service-specific variable belongs to. */
  service?: string;
  /** Lower-precedence sources that set the same name and lost. */
  overrides: VariableSource[];
}

/** Environment and config variables merged as the supervisor would for `service`. */
export interface EffectiveVariables {
  /** The service the merge is for; without one only all-services variables apply. */
  service?: string;
  /** Environment variables, sorted by name. */
  env: EffectiveVariable[];
  /** Config variables (`BALENA_*`/`RESIN_*`), device over fleet, sorted by name. */
  config: EffectiveVariable[];
}

/** One raw variable row as the variable readers hand it to the merge. */
export interface VariableRow {
  name: string;
  value: string;
  service?: string;
}

/** All variable rows that could apply to the device, grouped by where they live. */
export interface VariableRows {
  device: VariableRow[];
  fleet: VariableRow[];
  deviceService: VariableRow[];
  fleetService: VariableRow[];
  deviceConfig: VariableRow[];
  fleetConfig: VariableRow[];
}
