/** Read-only views of the simulated device, shaped like the supervisor's replies (CONTRACT §2.2). */
import semver from 'semver';
import type { SimService, SimState } from './state.js';

/**
 * `GET /v2/applications/state`; `appUuid`, `updateStatus` and `image` appear from 17.7.0.
 * `updateStatus` is `done` unless the simulator says an update is being applied.
 */
export function appsState(state: SimState) {
  const recent = semver.gte(state.version, '17.7.0');
  const service = (s: Required<SimService>) => ({
    status: s.status,
    ...(recent ? { image: `registry/${s.name}:${s.imageId}` } : {}),
    downloadProgress: null,
    releaseId: state.releaseId,
  });
  return {
    [state.appName]: {
      appId: state.appId,
      ...(recent ? { appUuid: state.appUuid } : {}),
      commit: state.commit,
      ...(recent ? { updateStatus: state.updateStatus } : {}),
      services: Object.fromEntries(state.services.map((s) => [s.name, service(s)])),
    },
  };
}

/** `GET /v2/state/status`: every service of the one app; `appState` is `applying` while an update is. */
export function stateStatus(state: SimState) {
  return {
    status: 'success',
    appState: state.updateStatus === 'done' ? 'applied' : 'applying',
    overallDownloadProgress: null,
    containers: state.services.map((s) => ({
      status: s.status,
      serviceName: s.name,
      appId: state.appId,
      imageId: s.imageId,
      serviceId: s.serviceId,
      containerId: s.containerId,
      createdAt: '2026-01-01T00:00:00.000Z',
    })),
    images: state.services.map((s) => ({
      name: `registry/${s.name}:${s.imageId}`,
      appId: state.appId,
      serviceName: s.name,
      imageId: s.imageId,
      dockerImageId: `sha256:${String(s.imageId).padStart(64, '0')}`,
      status: 'Downloaded',
      downloadProgress: null,
    })),
    release: state.commit,
  };
}

/** `GET /v1/device`: the first service's status, `Running` reported as `Idle`. */
export function legacyDevice(state: SimState) {
  // an app with no services reads as idle
  const first = state.services[0]?.status ?? 'Running';
  return {
    api_port: 48484,
    ip_address: '192.168.1.42 10.114.104.1',
    mac_address: '02:42:AC:11:00:02',
    os_version: 'balenaOS 6.0.0',
    supervisor_version: state.version,
    update_pending: false,
    update_downloaded: false,
    update_failed: false,
    commit: state.commit,
    status: first === 'Running' ? 'Idle' : first,
    download_progress: null,
  };
}
