/**
 * Preloaded into an agent child by the soak harness (`node --import`): shifts the wall clock
 * (`Date.now()`, `new Date()`) by an offset the harness changes, as NTP stepping a device's clock
 * forwards or backwards would. The monotonic clock (`performance.now()`) is left alone, as it is
 * by a real step. The first offset comes from SOAK_CLOCK_OFFSET_MS; later ones arrive as IPC
 * messages `{ clockOffsetMs }`, each answered `{ clockOffsetApplied }`. Test-only: never in src/.
 */
const RealDate = Date;
let offsetMs = Number(process.env.SOAK_CLOCK_OFFSET_MS ?? '0') || 0;

function SteppedDate(this: unknown, ...args: unknown[]): unknown {
  if (new.target === undefined) return new RealDate(RealDate.now() + offsetMs).toString();
  return Reflect.construct(RealDate, args.length === 0 ? [RealDate.now() + offsetMs] : args, new.target as typeof RealDate);
}
SteppedDate.prototype = RealDate.prototype;
Object.setPrototypeOf(SteppedDate, RealDate);
(SteppedDate as unknown as { now: () => number }).now = () => RealDate.now() + offsetMs;
globalThis.Date = SteppedDate as unknown as DateConstructor;

process.on('message', (message: unknown) => {
  const next = (message as { clockOffsetMs?: unknown } | null)?.clockOffsetMs;
  if (typeof next !== 'number') return;
  offsetMs = next;
  process.send?.({ clockOffsetApplied: next });
});
// The channel must not keep the agent alive once it has stopped by itself.
process.channel?.unref();
