import { readFileSync } from 'node:fs';

// Reads a child's memory and cpu from /proc (Linux). The parent samples from
// outside because a handler stuck in a synchronous loop never yields to
// report anything itself, and that is exactly the handler the watchdog is for.

export interface ResourceSample {
  rssKb: number;
  /** VmHWM: the peak resident set so far. */
  peakRssKb: number;
  cpuMs: number;
}

// USER_HZ is 100 on every mainstream Linux build; /proc/<pid>/stat counts in it.
const TICK_MS = 10;

export function sampleProcess(pid: number): ResourceSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is parenthesised and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11] ?? 0);
    const stime = Number(fields[12] ?? 0);
    return { rssKb: kb('VmRSS'), peakRssKb: kb('VmHWM'), cpuMs: (utime + stime) * TICK_MS };
  } catch {
    // Not Linux, or the process is already gone: the child's own final report is used instead.
    return undefined;
  }
}
