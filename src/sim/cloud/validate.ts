/** The model rules (SBVR) the real API enforces on writes; a violation is a 400. */
import type { Row } from './odata-eval.js';

const TAG_VALUE_MAX = 60_158;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/u;
const CONFIG_NAME = /^(BALENA|RESIN)_[A-Za-z0-9_:]*$/u;
const RESERVED_ENV = new Set(['RESIN', 'BALENA', 'USER']);

function tagProblem(row: Row): string | undefined {
  const key = row['tag_key'];
  const value = row['value'];
  if (typeof key !== 'string' || key.length < 1 || key.length > 100) return 'It is necessary that each tag key has a Length (Type) that is greater than 0 and is less than or equal to 100.';
  if (/\s/u.test(key)) return 'It is necessary that each tag key does not contain a space.';
  if (/^(io\.resin\.|io\.balena\.)/u.test(key)) return 'It is necessary that each tag key does not start with "io.resin." or "io.balena.".';
  if (typeof value !== 'string') return 'It is necessary that each tag has a value that is a text.';
  if (value.length > TAG_VALUE_MAX) return `It is necessary that each tag value has a Length (Type) that is less than or equal to ${TAG_VALUE_MAX}.`;
  return undefined;
}

function varProblem(row: Row, config: boolean): string | undefined {
  const name = row['name'];
  const value = row['value'];
  if (typeof name !== 'string' || name.length === 0) return 'It is necessary that each variable has a name.';
  if (config) {
    if (!CONFIG_NAME.test(name)) return 'Configuration variables names must start with BALENA_ or RESIN_.';
  } else {
    if (!ENV_NAME.test(name)) return 'Variable names may only contain alphanumeric characters and underscores, and may not start with a number.';
    if (/^(BALENA|RESIN)_/u.test(name) || RESERVED_ENV.has(name)) return `Variable name "${name}" is reserved.`;
  }
  if (typeof value !== 'string') return 'It is necessary that each variable has a value that is a text.';
  if (/[\r\n]/u.test(value)) return 'Variable values may not contain line breaks.';
  return undefined;
}

function deviceProblem(row: Row): string | undefined {
  const name = row['device_name'];
  if (name !== undefined && (typeof name !== 'string' || /[\r\n]/u.test(name))) return 'It is necessary that each device name does not contain a newline character.';
  const note = row['note'];
  if (note !== undefined && note !== null && (typeof note !== 'string' || note.length > 1_000_000)) return 'It is necessary that each device note has a Length (Type) that is less than or equal to 1000000.';
  return undefined;
}

/** The rule `row` breaks as a row of `resource`, or undefined. */
export function ruleViolation(resource: string, row: Row): string | undefined {
  switch (resource) {
    case 'device_tag':
    case 'application_tag':
      return tagProblem(row);
    case 'device_environment_variable':
    case 'application_environment_variable':
    case 'service_environment_variable':
    case 'device_service_environment_variable':
      return varProblem(row, false);
    case 'device_config_variable':
    case 'application_config_variable':
      return varProblem(row, true);
    case 'device':
      return deviceProblem(row);
    default:
      return undefined;
  }
}

/** A tag key acceptable to the bulk tags endpoint. */
export function validTagKey(key: string): boolean {
  return tagProblem({ tag_key: key, value: '' }) === undefined;
}
