import { forecastWeek, hourOfWeek, HOURS_PER_WEEK, parseCapacity, planCapacity } from './capacity.forecast';

/** Worker-seconds of a synthetic weekly pattern: busy weekday office hours, quiet nights and weekends. */
function pattern(how: number): number {
  const day = Math.floor(how / 24);
  const hour = how % 24;
  const weekday = day < 5;
  return (weekday ? 600 : 120) + (weekday && hour >= 8 && hour < 18 ? 5400 : 0);
}

describe('capacity forecast', () => {
  it('counts hours of the week from Monday 00:00 UTC', () => {
    expect(hourOfWeek(new Date('2026-11-30T00:00:00Z'))).toBe(0); // a Monday
    expect(hourOfWeek(new Date('2026-12-06T23:00:00Z'))).toBe(167);
  });

  it('forecasts a noisy weekly pattern within 5 % per hour and 1 % in total', () => {
    const now = new Date('2026-11-30T00:00:00Z');
    let seed = 7;
    const noise = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return (seed / 2 ** 31 - 0.5) * 0.1; // +-5 %
    };
    const history = [];
    for (let h = 0; h < 4 * HOURS_PER_WEEK; h++) {
      const hour = new Date(now.getTime() - (4 * HOURS_PER_WEEK - h) * 3_600_000);
      history.push({ hour, workerSeconds: pattern(hourOfWeek(hour)) * (1 + noise()) });
    }
    const forecast = forecastWeek(history, now, 4);
    const truth = Array.from({ length: HOURS_PER_WEEK }, (_, i) => pattern(i));
    forecast.forEach((v, i) => expect(Math.abs(v - truth[i]!) / truth[i]!).toBeLessThan(0.05));
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(Math.abs(total(forecast) - total(truth)) / total(truth)).toBeLessThan(0.01);
  });

  it('recommends replicas for the busiest hour at the target utilisation', () => {
    const hourly = new Array<number>(HOURS_PER_WEEK).fill(0);
    hourly[10] = 6000; // 1.67 workers busy that hour
    const plan = planCapacity('default', hourly, 3000, 4, 0.7);
    expect(plan.recommendedReplicas).toBe(3);
    expect(plan.forecastUtilisation).toBeCloseTo(6000 / (4 * 604_800));
    expect(planCapacity('idle', new Array<number>(HOURS_PER_WEEK).fill(0), 0, undefined, 0.7)).toMatchObject({ recommendedReplicas: 0, forecastUtilisation: null });
  });

  it('parses configured capacity and names a bad entry', () => {
    expect([...parseCapacity('default=4, gpu=1')]).toEqual([['default', 4], ['gpu', 1]]);
    expect(() => parseCapacity('default=four')).toThrow('"default=four" is not <queue>=<workers>');
  });
});
