import type { Labels } from './fingerprint';

/** Alertmanager's matcher: `name=value`, `name!=value`, `name=~regex`, `name!~regex`. */
export interface Matcher {
  name: string;
  value: string;
  isRegex?: boolean;
  /** false negates the match; default true. */
  isEqual?: boolean;
}

export function matches(m: Matcher, labels: Labels): boolean {
  const actual = labels[m.name] ?? '';
  // Anchored like Alertmanager: the regex must match the whole value.
  const hit = m.isRegex ? new RegExp(`^(?:${m.value})$`).test(actual) : actual === m.value;
  return m.isEqual === false ? !hit : hit;
}

export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  return matchers.every((m) => matches(m, labels));
}

export interface SilenceWindow {
  matchers: readonly Matcher[];
  startsAt: Date;
  endsAt: Date;
}

export function isSilenced(labels: Labels, silences: readonly SilenceWindow[], now: Date): boolean {
  return silences.some((s) => s.startsAt <= now && now < s.endsAt && matchesAll(s.matchers, labels));
}

export interface InhibitRule {
  sourceMatch: readonly Matcher[];
  targetMatch: readonly Matcher[];
  /** Labels source and target must share (both missing counts as equal, as in Alertmanager). */
  equal: readonly string[];
}

/**
 * A target alert is inhibited while another firing alert matches a rule's
 * source side and has the same values for the rule's `equal` labels. An
 * alert never inhibits itself (a rule whose sides both match it).
 */
export function isInhibited(target: { fingerprint: string; labels: Labels }, firing: ReadonlyArray<{ fingerprint: string; labels: Labels }>, rules: readonly InhibitRule[]): boolean {
  return rules.some(
    (rule) =>
      matchesAll(rule.targetMatch, target.labels) &&
      firing.some((source) => source.fingerprint !== target.fingerprint && matchesAll(rule.sourceMatch, source.labels) && rule.equal.every((l) => (source.labels[l] ?? '') === (target.labels[l] ?? ''))),
  );
}
