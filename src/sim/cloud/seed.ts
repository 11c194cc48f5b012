/** The initial state of the cloud simulator: fleets, devices, users, tags and variables. */

/** A user (operator) with a password and an API key. */
export interface SeedUser {
  id: number;
  username: string;
  email: string;
  password: string;
  apiKey: string;
}

/** A device row plus the device API key the simulator accepts for it. */
export interface SeedDevice {
  id: number;
  uuid: string;
  device_name: string;
  application: number;
  apiKey: string;
  supervisor_version?: string;
  os_version?: string;
  is_online?: boolean;
  device_type?: string;
}

/** Everything the simulator starts with; ids are chosen by the seed. */
export interface CloudSeed {
  users?: SeedUser[];
  applications?: Array<{ id: number; app_name: string; slug?: string; uuid?: string; device_type?: string }>;
  devices?: SeedDevice[];
  deviceTags?: Array<{ device: number; tag_key: string; value: string }>;
  applicationTags?: Array<{ application: number; tag_key: string; value: string }>;
  deviceEnv?: Array<{ device: number; name: string; value: string }>;
  applicationEnv?: Array<{ application: number; name: string; value: string }>;
  deviceConfig?: Array<{ device: number; name: string; value: string }>;
  applicationConfig?: Array<{ application: number; name: string; value: string }>;
  services?: Array<{ id: number; application: number; service_name: string }>;
  serviceEnv?: Array<{ service: number; name: string; value: string }>;
  deviceServiceEnv?: Array<{ device: number; service: number; name: string; value: string }>;
}

/** Default identifiers of {@link demoSeed}. */
export const DEMO = {
  deviceUuid: '5f0c4d7a9e1b4c2d8a6f3b0e7c9d1a24',
  fleetId: 1,
  deviceId: 1,
  operatorEmail: 'operator@example.com',
  operatorPassword: 'demo-password',
} as const;

/** A ready seed: one fleet (id 1, 'demo-fleet'), one device, an operator user with an API key. */
export function demoSeed(opts: { deviceUuid?: string; deviceKey?: string; operatorKey?: string } = {}): CloudSeed {
  return {
    users: [
      {
        id: 1,
        username: 'operator',
        email: DEMO.operatorEmail,
        password: DEMO.operatorPassword,
        apiKey: opts.operatorKey ?? 'demo-operator-key-0000000000000000',
      },
    ],
    applications: [{ id: DEMO.fleetId, app_name: 'demo-fleet', slug: 'operator/demo-fleet', device_type: 'raspberrypi4-64' }],
    devices: [
      {
        id: DEMO.deviceId,
        uuid: opts.deviceUuid ?? DEMO.deviceUuid,
        device_name: 'demo-device',
        application: DEMO.fleetId,
        apiKey: opts.deviceKey ?? 'demo-device-key-00000000000000000',
        supervisor_version: '17.8.0',
        os_version: 'balenaOS 6.5.0',
        is_online: true,
        device_type: 'raspberrypi4-64',
      },
    ],
    // A fleet tag under the prefix that is neither a command nor a setting: read, and left alone.
    applicationTags: [{ application: DEMO.fleetId, tag_key: 'agent.site.name', value: 'demo-lab' }],
    applicationEnv: [{ application: DEMO.fleetId, name: 'LOG_LEVEL', value: 'info' }],
    services: [{ id: 1, application: DEMO.fleetId, service_name: 'main' }],
  };
}
