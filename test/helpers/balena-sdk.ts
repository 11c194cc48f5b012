/**
 * The official balena SDK, as the conformance test drives it. It is an optional dependency (npm
 * installs it only on Node >= 22.18, which it requires), so it is loaded by name at run time and
 * described here by the part of it the test uses.
 */
import { createRequire } from 'node:module';

type Select<T> = { $select?: ReadonlyArray<keyof T & string> };
interface Row {
  id: number;
}
interface Device extends Row {
  uuid: string;
  device_name: string;
  belongs_to__application: { __id: number };
}
interface Fleet extends Row {
  app_name: string;
}
interface Tag {
  tag_key: string;
  value: string;
}
interface Variable {
  name: string;
  value: string;
}
interface LogLine {
  message: string;
  isSystem?: boolean;
}
interface Vars {
  set(uuid: string, name: string, value: string): Promise<void>;
  get(uuid: string, name: string): Promise<string | undefined>;
  getAllByDevice(uuid: string): Promise<Variable[]>;
  getAllByApplication(fleet: number): Promise<Variable[]>;
  remove(uuid: string, name: string): Promise<void>;
}

/** The SDK's surface used by the conformance test. */
export interface Sdk {
  auth: {
    loginWithToken(key: string): Promise<void>;
    login(credentials: { email: string; password: string }): Promise<void>;
    isLoggedIn(): Promise<boolean>;
    getToken(): Promise<string>;
    getUserInfo(): Promise<{ username: string; email: string }>;
    whoami(): Promise<{ actorType: string } | undefined>;
  };
  models: {
    application: {
      get(idOrSlug: number | string, options?: Select<Fleet>): Promise<Fleet>;
      envVar: { getAllByApplication(fleet: number): Promise<Variable[]> };
      tags: { getAllByApplication(fleet: number): Promise<Tag[]> };
    };
    device: {
      get(uuidOrId: string | number, options?: Select<Device>): Promise<Device>;
      getAllByApplication(fleet: number, options?: Select<Device>): Promise<Device[]>;
      getApplicationName(uuid: string): Promise<string>;
      getName(uuid: string): Promise<string>;
      reboot(uuid: string): Promise<void>;
      restartService(uuid: string, imageId: number): Promise<void>;
      tags: {
        set(uuidOrId: string | number, key: string, value: string): Promise<void>;
        getAllByDevice(uuid: string): Promise<Tag[]>;
        remove(uuid: string, key: string): Promise<void>;
      };
      envVar: Vars;
      configVar: Pick<Vars, 'get' | 'remove'>;
      serviceVar: {
        getAllByDevice(uuid: string): Promise<Variable[]>;
        get(uuid: string, service: string, name: string): Promise<string | undefined>;
      };
    };
  };
  logs: { history(uuid: string, options?: { count?: number }): Promise<LogLine[]> };
  pine: { get(params: { resource: string; options?: Record<string, unknown> }): Promise<Tag[]> };
}

/** Makes an SDK instance. */
export type GetSdk = (opts: Record<string, unknown>) => Sdk;

/** The SDK's factory, or why it cannot run here (the reason the test is skipped). */
export async function loadSdk(): Promise<GetSdk | string> {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 18)) return `balena-sdk needs Node >= 22.18 (this is ${process.versions.node}); CI runs this file on Node 24`;
  let path: string;
  try {
    path = createRequire(import.meta.url).resolve('balena-sdk');
  } catch {
    return 'balena-sdk is not installed (an optional dependency: npm install on Node >= 22.18 adds it)';
  }
  const mod = (await import(path)) as { getSdk: GetSdk };
  return mod.getSdk;
}
