/** Anything that takes text: process.stdout in production, a buffer in tests. */
export interface TextSink {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/**
 * Where a command's results go: results on stdout, notes (hints, "more
 * results" and errors) on stderr, so `steward ... | jq` and redirects keep
 * working; `--json` switches results to the raw response body.
 */
export class Output {
  constructor(
    private readonly stdout: TextSink,
    private readonly stderr: TextSink,
    readonly json: boolean,
    readonly color: boolean,
  ) {}

  /** Whether stdout is a terminal we may redraw (progress bars). */
  get interactive(): boolean {
    return this.stdout.isTTY === true;
  }

  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  /** Raw write without a newline, for in-place redraws. */
  write(text: string): void {
    this.stdout.write(text);
  }

  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  printJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One compact JSON value a line: for streams (`--follow`, `--watch`) that scripts read line by line. */
  printJsonLine(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }

  errorJson(value: unknown): void {
    this.stderr.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}

/** Colour only for a terminal, and never when NO_COLOR is set or TERM is dumb (no-color.org). */
export function wantsColor(stdout: TextSink, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return stdout.isTTY === true && env.TERM !== 'dumb';
}
