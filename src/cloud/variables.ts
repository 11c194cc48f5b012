import type { EffectiveVariable, EffectiveVariables, VariableRow, VariableRows, VariableSource } from './types.js';

/** Environment sources, highest precedence first (CONTRACT §4.4). */
const ENV_ORDER: readonly (keyof VariableRows & ('deviceService' | 'device' | 'fleetService' | 'fleet'))[] = [
  'deviceService',
  'device',
  'fleetService',
  'fleet',
];

const SOURCE: Record<keyof VariableRows, VariableSource> = {
  deviceService: 'device+service',
  device: 'device',
  fleetService: 'fleet+service',
  fleet: 'fleet',
  deviceConfig: 'device-config',
  fleetConfig: 'fleet-config',
};

function merge(rows: VariableRows, order: readonly (keyof VariableRows)[], service: string | undefined): EffectiveVariable[] {
  const byName = new Map<string, EffectiveVariable>();
  for (const group of order) {
    const source = SOURCE[group];
    for (const row of rows[group]) {
      if (!appliesTo(row, service)) continue;
      const winner = byName.get(row.name);
      if (winner) {
        if (!winner.overrides.includes(source)) winner.overrides.push(source);
        continue;
      }
      byName.set(row.name, {
        name: row.name,
        value: row.value,
        source,
        ...(row.service !== undefined ? { service: row.service } : {}),
        overrides: [],
      });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function appliesTo(row: VariableRow, service: string | undefined): boolean {
  return row.service === undefined || row.service === service;
}

/**
 * Merges variable rows the way the supervisor composes a container's environment:
 * device+service > device > fleet+service > fleet; config variables device over fleet.
 * Service-specific rows of other services (or all of them, when `service` is absent) do not apply.
 */
export function mergeVariables(rows: VariableRows, service?: string): EffectiveVariables {
  return {
    ...(service !== undefined ? { service } : {}),
    env: merge(rows, ENV_ORDER, service),
    config: merge(rows, ['deviceConfig', 'fleetConfig'], service),
  };
}
