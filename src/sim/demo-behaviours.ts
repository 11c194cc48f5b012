/**
 * What the demo prints about the agent's own behaviours (PRODUCT §3 Behaviours): at start, how a
 * person sees each of them within a minute or so; then each report (`.last`) and ack as it changes.
 * Pure: the time and the addresses are passed in.
 */

/** Where an operator sets a device tag in the demo's cloud. */
export interface TagTarget {
  cloudUrl: string;
  operatorKey: string;
  deviceId: number;
}

/** The shortest `agent.config.offline-reboot` the agent accepts (schema.ts; a unit test keeps the two in step). */
export const DEMO_OFFLINE_REBOOT = '10m';

/** The watchdog the demo's agent runs with, unless the caller's environment says otherwise. */
export const DEMO_WATCHDOG = { AGENT_WATCHDOG: 'all', AGENT_WATCHDOG_INTERVAL: '5s' } as const;

const MINUTE = 60_000;

/** The first whole UTC minute at least a minute after `wall` (time to paste a line), as a daily cron pattern. */
export function nextMinuteCron(wall: number): { cron: string; at: number } {
  const at = Math.ceil((wall + MINUTE) / MINUTE) * MINUTE;
  const d = new Date(at);
  return { cron: `${d.getUTCMinutes()} ${d.getUTCHours()} * * *`, at };
}

/** A curl line that creates a device tag as an operator would. */
function setTag(t: TagTarget, key: string, value: string): string {
  const body = JSON.stringify({ device: t.deviceId, tag_key: key, value });
  return `    curl -s -X POST -H 'Authorization: Bearer ${t.operatorKey}' -H 'Content-Type: application/json' -d '${body}' '${t.cloudUrl}/v7/device_tag'`;
}

/** What the demo's agent runs with, as the lines below describe it. */
export interface DemoBehaviourSettings {
  prefix: string;
  /** AGENT_WATCHDOG (undefined or `off`: the watchdog is off). */
  watchdog: string | undefined;
  watchdogInterval: string | undefined;
  /** The service whose health check URL the agent asks (AGENT_CHECK_<SERVICE>), if one. */
  checked: string | undefined;
}

/** The lines printed at start: how to make each behaviour act. */
export function behaviourLines(t: TagTarget, s: DemoBehaviourSettings, wall: number): string[] {
  const { cron, at } = nextMinuteCron(wall);
  const hhmm = new Date(at).toISOString().slice(11, 16);
  const p = s.prefix;
  const watching = s.watchdog !== undefined && s.watchdog !== 'off';
  const looks = s.watchdogInterval ?? '30s';
  return [
    `The agent's own behaviours (each reports in ${p}<behaviour>.last, printed below as it changes):`,
    `  Reboot schedule: reboot at ${hhmm} UTC (the next minute; set later, use that minute's "M H * * *" in UTC), without the per-device offset:`,
    setTag(t, `${p}config.schedule-spread`, '0'),
    setTag(t, `${p}config.reboot-schedule`, cron),
    watching
      ? `  Watchdog (on: AGENT_WATCHDOG=${s.watchdog}, a look every ${looks}${s.checked ? `, ${s.checked}'s check URL in AGENT_CHECK_${s.checked.toUpperCase().replace(/-/g, '_')}` : ''}): type`
      : `  Watchdog (off here: set AGENT_WATCHDOG=all before starting the demo to try it): type`,
    `    crash main       restarted by restart-service after 2 looks in a row that find it not running`,
    ...(s.checked === 'main' ? [`    hang main        restarted after its check failed on 3 looks in a row`] : []),
    `    crashloop main   restart-service; 5 min later restart; 15 min after that a reboot; then it only reports`,
    `    (heal main mends it; trouble again within an hour of the last step climbs on to the next step, after its cool-off)`,
    `  Offline reboot: it waits ${DEMO_OFFLINE_REBOOT} at the least (the setting's minimum), so this one takes ${DEMO_OFFLINE_REBOOT}, not a minute:`,
    setTag(t, `${p}config.offline-reboot`, DEMO_OFFLINE_REBOOT),
    `    then, once the next poll has read it, type: cloud down   (one reboot after ${DEMO_OFFLINE_REBOOT} without the API, none more while it stays down; cloud up ends it)`,
  ];
}

/** An ack or a behaviour's report, as the demo prints it when it changes. */
export interface ReportLine {
  /** Extra fields of the `tag` event in `--json`. */
  fields: { command: string } | { behaviour: string };
  text: string;
}

/** The line for a changed tag that is an ack (`<prefix><command>.ack`) or a report (`<prefix><behaviour>.last`); undefined for any other tag. */
export function reportLine(key: string, value: string, prefix: string): ReportLine | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const name = key.slice(prefix.length);
  const last = /^([a-z-]+)\.last$/.exec(name);
  if (last?.[1] !== undefined) return { fields: { behaviour: last[1] }, text: `behaviour   ${last[1]}: ${value}` };
  const ack = /^([a-z-]+)\.ack$/.exec(name);
  if (ack?.[1] !== undefined) return { fields: { command: ack[1] }, text: `ack         ${ack[1]}: ${value}` };
  return undefined;
}
