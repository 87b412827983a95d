import type { Pool } from 'pg';
import type { TriggerRow, WorkflowRepository } from '../workflows/workflow.repository';

interface Waiting {
  type: string;
  resolve: (rows: TriggerRow[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Which workflows an event type triggers, asked for every event a trigger
 * durable delivers (TriggerConsumers). Questions asked while a lookup is
 * running, or in the same turn of the event loop, share one statement for
 * all their types: a burst costs a statement per
 * batch of deliveries instead of one per event. Each answer is read after
 * its question was asked, as a lookup of its own would be, so a workflow
 * applied before an event was handled is seen exactly as before; nothing is
 * cached.
 */
export class TriggerLookup {
  private waiting: Waiting[] = [];
  private running = false;
  private scheduled = false;

  constructor(
    private readonly pool: Pool,
    private readonly workflows: WorkflowRepository,
  ) {}

  find(type: string): Promise<TriggerRow[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ type, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    this.running = true;
    try {
      const rows = await this.workflows.findTriggeredByAny(this.pool, [...new Set(batch.map((w) => w.type))]);
      for (const w of batch) w.resolve(rows.filter((r) => r.triggerOn === w.type));
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.running = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}
