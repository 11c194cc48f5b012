/** Response shapes of the supervisor API (CONTRACT §2.2), as the client returns them. */

/** The three v2 service actions. */
export type ServiceAction = 'restart' | 'stop' | 'start';

/** `GET /v1/device`: legacy device state; any field may be absent or null. */
export interface LegacyDeviceState {
  api_port?: number | null;
  ip_address?: string | null;
  mac_address?: string | null;
  os_version?: string | null;
  supervisor_version?: string | null;
  update_pending?: boolean | null;
  update_downloaded?: boolean | null;
  update_failed?: boolean | null;
  commit?: string | null;
  status?: string | null;
  download_progress?: number | null;
  [key: string]: unknown;
}

/** One service in `GET /v2/applications/state`. */
export interface ServiceState {
  status: string;
  image?: string;
  downloadProgress: number | null;
  releaseId: number;
}

/** One app in `GET /v2/applications/state`. */
export interface AppState {
  appId: number;
  appUuid?: string;
  commit: string;
  updateStatus?: string;
  services: Record<string, ServiceState>;
}

/** `GET /v2/applications/state`: keyed by app name. */
export type ApplicationsState = Record<string, AppState>;

/** One container in `GET /v2/state/status`. */
export interface ContainerStatus {
  status: string;
  serviceName: string;
  appId: number;
  imageId: number;
  serviceId: number;
  containerId: string;
  createdAt: string;
}

/** One image in `GET /v2/state/status`. */
export interface ImageStatus {
  name: string;
  appId: number;
  serviceName: string;
  imageId: number;
  dockerImageId: string;
  status: string;
  downloadProgress: number | null;
}

/** `GET /v2/state/status`; `appState` says whether the device has settled. */
export interface StateStatus {
  status: string;
  appState: 'applying' | 'applied';
  overallDownloadProgress: number | null;
  containers: ContainerStatus[];
  images: ImageStatus[];
  release: string;
}

/** A device tag as `GET /v2/device/tags` lists it (`name` is the tag key). */
export interface DeviceTag {
  id: number;
  name: string;
  value: string;
}

/** Options of `POST /v2/journal-logs` the client sends (CONTRACT §2.2). */
export interface JournalLogsOptions {
  follow?: boolean;
  count?: number;
  /** systemd unit (`-u`). */
  unit?: string;
  /** syslog identifier (`-t`). */
  containerId?: string;
  /** journalctl time strings (`-S`/`-U`), supervisor ≥ 14.7.0. */
  since?: string;
  until?: string;
  all?: boolean;
  /** `short` (the default) needs no gate; others need supervisor ≥ 10.3.0. */
  format?: 'json' | 'short';
}
