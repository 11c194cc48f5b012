/**
 * A time zone's offset from UTC at an instant, in ms (east positive), read with
 * Intl.DateTimeFormat. UTC is answered without Intl: asking it would load ICU's zone data
 * (megabytes of RSS) on every device, most of which never set TZ. Throws a RangeError for a zone
 * Intl does not know.
 */
export function utcOffsetReader(timeZone: string): (t: number) => number {
  if (timeZone === 'UTC') return () => 0;
  const format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
  return (t) => {
    const name = format.formatToParts(t).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const m = /^GMT(?:([+-])(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?)?$/.exec(name);
    if (m === null) throw new RangeError(`cannot read the UTC offset "${name}" of ${timeZone}`);
    const ms = (Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0)) * 1000;
    return m[1] === '-' ? -ms : ms;
  };
}
