import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';

type Json = Record<string, any>;

export interface ActionStep {
  job: string;
  index: number;
  uses: string;
  with: Record<string, string>;
}

/** Parses a workflow file, failing with the file and line of the first YAML error. */
export async function readWorkflow(file: string): Promise<Json> {
  const document = parseDocument(await readFile(file, 'utf8'), { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length) throw new Error(`${file}: ${document.errors[0].message}`);
  return document.toJS() as Json;
}

/** The steps of every job that run this action, in order. */
export function actionSteps(workflow: Json, isOurs: (uses: string) => boolean): ActionStep[] {
  const steps: ActionStep[] = [];
  for (const [job, definition] of Object.entries<Json>(workflow.jobs ?? {})) {
    (definition.steps as Json[] | undefined)?.forEach((step, index) => {
      if (typeof step.uses === 'string' && isOurs(step.uses)) {
        steps.push({ job, index, uses: step.uses, with: Object.fromEntries(Object.entries<unknown>(step.with ?? {}).map(([key, value]) => [key, String(value)])) });
      }
    });
  }
  return steps;
}

/**
 * Fills in the `${{ … }}` expressions a runner would, for the few forms our example workflows use:
 * `secrets.NAME`, `vars.NAME` and `github.<path>` looked up in the given contexts. Anything else throws, so an
 * example cannot grow an expression this test does not evaluate.
 */
export function evaluate(text: string, contexts: { secrets: Record<string, string>; github: Json; vars?: Record<string, string> }): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_whole, expression: string) => {
    const secret = /^secrets\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expression);
    if (secret) return contexts.secrets[secret[1]] ?? '';
    // Configuration variables: an unset one is the empty string, as on the runner.
    const variable = /^vars\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expression);
    if (variable) return contexts.vars?.[variable[1]] ?? '';
    if (/^github(\.[A-Za-z_][A-Za-z0-9_-]*)+$/.test(expression)) {
      const value = expression
        .split('.')
        .slice(1)
        .reduce<unknown>((object, key) => (object as Json | undefined)?.[key], contexts.github);
      return value === undefined || value === null ? '' : String(value);
    }
    throw new Error(`expression \${{ ${expression} }} is not evaluated by this test`);
  });
}
