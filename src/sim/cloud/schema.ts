/** The slice of the balena v7 model the cloud simulator serves: fields, links, natural keys. */
import type { Navigation } from './odata-eval.js';

/** One resource of the model. */
export interface ResourceSchema {
  /** Plain fields, in the order pine lists them. */
  readonly fields: readonly string[];
  /** Navigations by name (to-one links are also row fields holding the target id). */
  readonly navigation: Readonly<Record<string, Navigation>>;
  /** Fields that together must be unique (the natural key), if any. */
  readonly unique?: readonly string[];
  /** Fields a POST must carry. */
  readonly required: readonly string[];
}

const one = (target: string, via: string): Navigation => ({ target, kind: 'one', via });
const many = (target: string, via: string): Navigation => ({ target, kind: 'many', via });

const tagLike = (parent: string, key: string): ResourceSchema => ({
  fields: ['id', 'created_at', key, 'value'],
  navigation: { [parent]: one(parent, parent) },
  unique: [parent, key],
  required: [parent, key, 'value'],
});

/** The resources under `/v7/`. */
export const SCHEMA: Readonly<Record<string, ResourceSchema>> = {
  application: {
    fields: ['id', 'created_at', 'app_name', 'slug', 'uuid', 'device_type', 'is_public', 'is_host', 'is_archived'],
    navigation: {
      owns__device: many('device', 'belongs_to__application'),
      application_tag: many('application_tag', 'application'),
      application_environment_variable: many('application_environment_variable', 'application'),
      application_config_variable: many('application_config_variable', 'application'),
      service: many('service', 'application'),
    },
    unique: ['slug'],
    required: ['app_name'],
  },
  device: {
    fields: [
      'id', 'created_at', 'modified_at', 'uuid', 'device_name', 'note', 'device_type', 'is_online', 'status',
      'api_heartbeat_state', 'overall_status', 'os_version', 'os_variant', 'supervisor_version', 'ip_address',
      'mac_address', 'is_frozen', 'custom_latitude', 'custom_longitude', 'is_running__release',
      'should_be_running__release', 'last_connectivity_event', 'cpu_usage', 'memory_usage', 'memory_total',
      'storage_usage', 'storage_total', 'cpu_temp',
    ],
    navigation: {
      belongs_to__application: one('application', 'belongs_to__application'),
      device_tag: many('device_tag', 'device'),
      device_environment_variable: many('device_environment_variable', 'device'),
      device_config_variable: many('device_config_variable', 'device'),
      service_install: many('service_install', 'device'),
    },
    unique: ['uuid'],
    required: ['uuid', 'belongs_to__application'],
  },
  device_tag: tagLike('device', 'tag_key'),
  application_tag: tagLike('application', 'tag_key'),
  device_environment_variable: tagLike('device', 'name'),
  application_environment_variable: tagLike('application', 'name'),
  device_config_variable: tagLike('device', 'name'),
  application_config_variable: tagLike('application', 'name'),
  service: {
    fields: ['id', 'created_at', 'service_name'],
    navigation: {
      application: one('application', 'application'),
      service_environment_variable: many('service_environment_variable', 'service'),
      service_install: many('service_install', 'installs__service'),
    },
    unique: ['application', 'service_name'],
    required: ['application', 'service_name'],
  },
  service_environment_variable: tagLike('service', 'name'),
  service_install: {
    fields: ['id', 'created_at'],
    navigation: {
      device: one('device', 'device'),
      installs__service: one('service', 'installs__service'),
      device_service_environment_variable: many('device_service_environment_variable', 'service_install'),
    },
    unique: ['device', 'installs__service'],
    required: ['device', 'installs__service'],
  },
  device_service_environment_variable: tagLike('service_install', 'name'),
};

/** The schema of `resource`, or undefined when the simulator does not serve it. */
export function schemaOf(resource: string): ResourceSchema | undefined {
  return Object.hasOwn(SCHEMA, resource) ? SCHEMA[resource] : undefined;
}
