import { renderTimelineMarkdown } from './timeline-markdown.format';
import type { TimelineEntry } from './timeline.types';

let position = 0;
function entry(time: string, service: string, type: string, extra: Partial<TimelineEntry> = {}): TimelineEntry {
  position += 1;
  return {
    id: `e${position}`,
    position,
    time,
    service,
    type,
    streamId: 'run-1',
    actor: 'system',
    summary: `${type} happened`,
    causationId: null,
    correlationId: 'c-1',
    ...extra,
  };
}

const generatedAt = new Date('2026-05-01T12:00:00Z');

describe('timeline markdown for a postmortem', () => {
  const incident: TimelineEntry[] = [
    entry('2026-05-01T10:00:00Z', 'scheduler', 'run.scheduled'),
    entry('2026-05-01T10:00:03Z', 'executor', 'step.failed', { marker: 'first_failure', summary: 'fetch: HTTP 503 | retrying' }),
    entry('2026-05-01T10:02:03Z', 'alerter', 'alert.fired', { marker: 'detection', summary: 'supplier-prices failing' }),
    entry('2026-05-01T10:07:33Z', 'alerter', 'alert.acknowledged', { marker: 'acknowledgement', actor: 'alice' }),
    entry('2026-05-01T10:20:03Z', 'executor', 'dlq.requeued', { marker: 'mitigation', actor: 'alice' }),
    entry('2026-05-01T10:45:03Z', 'alerter', 'alert.resolved', { marker: 'resolution', actor: 'alice' }),
  ];

  const md = renderTimelineMarkdown({ kind: 'alert', id: 'A-42' }, incident, { generatedAt });

  it('starts with a header naming the subject', () => {
    expect(md.split('\n')[0]).toBe('# Timeline of alert `A-42`');
    expect(md).toContain('6 events from 2026-05-01 10:00:00 to 2026-05-01 10:45:03 UTC across scheduler, executor, alerter.');
  });

  it('has one table row per event under the postmortem columns', () => {
    expect(md).toContain('| time (UTC) | service | event | detail | actor |\n| --- | --- | --- | --- | --- |');
    expect(md).toContain('| 2026-05-01 10:00:00 | scheduler | run.scheduled | run.scheduled happened | system |');
    expect(md.split('\n').filter((l) => l.startsWith('| ')).length).toBe(2 + incident.length);
  });

  it('prints marked rows in bold with the marker label, escaping pipes', () => {
    expect(md).toContain(
      '| **2026-05-01 10:00:03** | **executor** | **step.failed** | **First failure: fetch: HTTP 503 \\| retrying** | **system** |',
    );
    expect(md).toContain('| **2026-05-01 10:02:03** | **alerter** | **alert.fired** | **Detected: supplier-prices failing** | **system** |');
    expect(md).toContain('**Acknowledged: alert.acknowledged happened**');
    expect(md).toContain('**Mitigation: dlq.requeued happened**');
    expect(md).toContain('**Resolved: alert.resolved happened**');
    expect(md).not.toContain('**run.scheduled**');
  });

  it('summarises time to detect, acknowledge, mitigate and resolve with their spans', () => {
    const summary = md.slice(md.indexOf('## Summary'));
    expect(summary).toContain('- **First failure:** 2026-05-01 10:00:03 UTC (step.failed, executor)');
    expect(summary).toContain('- **Time to detect:** 2m 0s (first failure → detected)');
    expect(summary).toContain('- **Time to acknowledge:** 5m 30s (detected → acknowledged)');
    expect(summary).toContain('- **Time to mitigate:** 20m 0s (first failure → mitigation)');
    expect(summary).toContain('- **Time to resolve:** 45m 0s (first failure → resolved)');
  });

  it('lists only the measures whose markers exist', () => {
    const partial = renderTimelineMarkdown({ kind: 'run', id: 'r-1' }, incident.slice(0, 3), { generatedAt });
    expect(partial).toContain('Time to detect');
    expect(partial).not.toContain('Time to acknowledge');
    expect(partial).not.toContain('Time to resolve');
  });

  it('says so when no milestone is marked, and names a workflow window', () => {
    const plain = renderTimelineMarkdown({ kind: 'workflow', id: 'supplier-prices', since: '1h' }, incident.slice(0, 1), { generatedAt });
    expect(plain.split('\n')[0]).toBe('# Timeline of workflow `supplier-prices` (last 1h)');
    expect(plain).toContain('No incident milestones');
    expect(plain).not.toContain('**');
  });

  it('renders an empty timeline without a table', () => {
    const empty = renderTimelineMarkdown({ kind: 'correlation', id: 'c-9' }, [], { generatedAt });
    expect(empty).toBe('# Timeline of correlation `c-9`\n\nNo events recorded. Exported 2026-05-01 12:00:00 UTC.\n');
  });

  it('is pure: the same input gives the same document', () => {
    expect(renderTimelineMarkdown({ kind: 'alert', id: 'A-42' }, incident, { generatedAt })).toBe(md);
  });
});
