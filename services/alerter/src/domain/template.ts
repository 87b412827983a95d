// Summary templates: `{{ name }}` placeholders filled from the alert's
// labels and values. Deliberately tiny: no logic, nothing to execute.

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/g;

export function templateVariables(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** Unknown names stay visible as `<name?>` rather than vanishing from the message. */
export function renderTemplate(template: string, vars: Readonly<Record<string, string | number | undefined>>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const v = vars[name];
    return v === undefined ? `<${name}?>` : String(v);
  });
}
