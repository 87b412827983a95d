import { formatReplayProgress } from './progress.format';

describe('replay progress bar', () => {
  it('draws the bar, counts, percent, rate and ETA', () => {
    expect(formatReplayProgress({ id: 'r', status: 'running', done: 512, total: 1000, ratePerSec: 120, etaSeconds: 4 })).toBe(
      '[#####.....] 512/1000 51% 120/s ETA 4s',
    );
  });

  it('never shows 100% before the last event', () => {
    expect(formatReplayProgress({ id: 'r', status: 'running', done: 999, total: 1000, ratePerSec: 99.6, etaSeconds: 0.01 })).toBe(
      '[#########.] 999/1000 99% 100/s ETA 0s',
    );
  });

  it('is full when completed, even with nothing to replay', () => {
    expect(formatReplayProgress({ id: 'r', status: 'completed', done: 0, total: 0 })).toBe('[##########] 0/0 100% -/s ETA -');
    expect(formatReplayProgress({ id: 'r', status: 'running', done: 0, total: 0, etaSeconds: 5400 })).toBe(
      '[..........] 0/0 0% -/s ETA 1h 30m',
    );
  });
});
