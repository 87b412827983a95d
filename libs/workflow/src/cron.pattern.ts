import { Cron } from 'croner';

// croner evaluates cron patterns in an IANA zone through Intl, without a
// date library. Patterns have five fields (minute resolution: a workflow
// scheduler has no use for seconds) or a nickname such as @daily.
//
// DST rule (croner's, which follows Vixie cron; verified in
// schedule.calculate.unit.spec.ts): a fixed-time job whose time falls in the
// spring-forward gap runs once at the first valid time after the gap (02:30
// in Berlin on the last Sunday of March runs at 03:00 CEST); a fixed-time job
// whose time occurs twice on fall-back day runs once, at the first
// occurrence. Jobs with a wildcard or step in minutes or hours (`*/15`,
// `0 * * * *`) follow real time: they skip the hour that does not exist and
// run in both passes of the repeated hour, because that is what "every 15
// minutes" means. `fixedTimeRule: 'no-wildcard'` makes lists and ranges such
// as `30 2,14 * * *` fixed-time too, so their 02:30 run is not lost in spring.

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A croner instance that is only ever asked questions; it never starts a timer. */
export function cronOf(pattern: string, timezone = 'UTC'): Cron {
  return new Cron(pattern, { timezone, mode: '5-part', fixedTimeRule: 'no-wildcard' });
}

/** The parse error of a cron pattern, or undefined when it is valid. */
export function cronError(pattern: string): string | undefined {
  const fields = pattern.trim().split(/\s+/);
  if (!pattern.trim().startsWith('@') && fields.length !== 5) {
    return `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  }
  try {
    const cron = cronOf(pattern);
    // A valid pattern that can never fire (e.g. 30 February) is an error too.
    if (cron.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) return 'the pattern never fires';
    return undefined;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).replace(/^CronPattern: /, '');
  }
}
