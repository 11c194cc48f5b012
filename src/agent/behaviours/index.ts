/** The behaviour registry: every behaviour the agent runs, in the order the admission step sees their proposals (operators' tags first: the device's, then the fleet's). */
import type { Behaviour } from './behaviour.js';
import { fleet } from './fleet.js';
import { offlineReboot } from './offline-reboot.js';
import { operator } from './operator.js';
import { rebootSchedule } from './reboot-schedule.js';
import { watchdog } from './watchdog.js';

/** All behaviours. */
export const BEHAVIOURS: readonly Behaviour[] = [operator, fleet, watchdog, rebootSchedule, offlineReboot];
