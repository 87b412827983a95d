import type { Connection, Submittable } from 'pg';
import type { Queryable } from './pool.factory';

/**
 * `COPY <table> (<columns>) FROM STDIN` in text format, as one pg
 * "submittable" (the hook pg-copy-streams uses, without the stream): the
 * rows go in one CopyData message. Postgres inserts COPY rows in bulk
 * (heap_multi_insert), and nothing is parsed per value on the client: for
 * wide rows it costs the server about half of `INSERT ... SELECT FROM
 * unnest(...)` and the client less than pg's array serialisation.
 *
 * `tx` must be a client inside a transaction (pg's Pool does not pass a
 * submittable's result back). COPY cannot skip conflicting keys: with
 * `savepoint`, a failed copy can be rolled back to it and the transaction
 * go on.
 */
export async function copyRows(tx: Queryable, table: string, columns: readonly string[], body: string, options: { savepoint?: string } = {}): Promise<number> {
  if (body === '') return 0;
  // A savepoint goes in the same simple query as the COPY: no round trip of its own.
  const savepoint = options.savepoint === undefined ? '' : `SAVEPOINT ${options.savepoint}; `;
  const copy = new CopyIn(`${savepoint}COPY ${table} (${columns.join(', ')}) FROM STDIN`, Buffer.from(body, 'utf8'));
  tx.query(copy);
  return copy.done;
}

/** One row of COPY text: fields joined by tabs, ended by a newline. */
export function copyLine(fields: ReadonlyArray<string | number | bigint | null>): string {
  let out = '';
  for (let i = 0; i < fields.length; i++) {
    const v = fields[i];
    if (i > 0) out += '\t';
    out += v === null ? '\\N' : typeof v === 'string' ? copyText(v) : String(v);
  }
  return `${out}\n`;
}

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Backslash, tab, newline and carriage return escaped as COPY text wants them; most values have none. */
export function copyText(s: string): string {
  return SPECIAL.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : s;
}

/** The copy-in half of pg's Connection, which its type declarations leave out. */
interface CopyConnection {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

class CopyIn implements Submittable {
  readonly done: Promise<number>;
  private resolve!: (rows: number) => void;
  private reject!: (err: unknown) => void;
  private rows = 0;
  private error: unknown;

  constructor(
    private readonly text: string,
    private readonly body: Buffer,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  readonly submit = (connection: Connection): void => {
    connection.query(this.text);
  };

  handleCopyInResponse(connection: Connection): void {
    const copy = connection as unknown as CopyConnection;
    copy.sendCopyFromChunk(this.body);
    copy.endCopyFrom();
  }

  handleCommandComplete(msg: { text?: string }): void {
    // The COPY's tag (`COPY n`) comes last, after a savepoint's.
    this.rows = Number(/(\d+)$/.exec(msg.text ?? '')?.[1] ?? 0);
  }

  handleError(err: unknown): void {
    // The server follows an error with ReadyForQuery; a dead socket does not, so settle now too.
    this.error = err;
    this.reject(err);
  }

  handleReadyForQuery(): void {
    if (this.error === undefined) this.resolve(this.rows);
  }

  // Messages a COPY FROM never gets, present because pg calls them on any active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}
