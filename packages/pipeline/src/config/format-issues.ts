import type { z } from 'zod';

/** The subset of JSON Schema that zod emits for the config, enough to describe a field. */
interface JsonSchemaNode {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minLength?: number;
  readonly minItems?: number;
  readonly anyOf?: readonly JsonSchemaNode[];
  readonly items?: JsonSchemaNode;
  readonly properties?: Readonly<Record<string, JsonSchemaNode>>;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The node of `root` at `path` (object keys and array indices), if the schema has one. */
export function schemaNodeAt(
  root: JsonSchemaNode,
  path: readonly PropertyKey[],
): JsonSchemaNode | undefined {
  let node: JsonSchemaNode | undefined = root;
  for (const key of path) {
    if (!node) return undefined;
    if (typeof key === 'number') node = node.items;
    else
      node =
        node.properties?.[String(key)] ??
        node.anyOf?.find((n) => n.properties?.[String(key)])?.properties?.[String(key)];
  }
  return node;
}

function describeBounds(node: JsonSchemaNode): string {
  const parts: string[] = [];
  if (node.minimum !== undefined && node.minimum > -MAX_SAFE) parts.push(`≥ ${node.minimum}`);
  if (node.exclusiveMinimum !== undefined) parts.push(`> ${node.exclusiveMinimum}`);
  if (node.maximum !== undefined && node.maximum < MAX_SAFE) parts.push(`≤ ${node.maximum}`);
  if (node.exclusiveMaximum !== undefined) parts.push(`< ${node.exclusiveMaximum}`);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

/**
 * Describes the values a JSON Schema node accepts, in words: `an integer ≥ 1`,
 * `one of "tfidf", "transformers"`, `a string or null`.
 */
export function describeSchemaNode(node: JsonSchemaNode): string {
  if (node.anyOf) return node.anyOf.map(describeSchemaNode).join(' or ');
  if (node.enum) return `one of ${node.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (node.const !== undefined) return JSON.stringify(node.const);
  const types =
    node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type as string];
  const words = types.map((t) => {
    switch (t) {
      case 'integer':
        return `an integer${describeBounds(node)}`;
      case 'number':
        return `a number${describeBounds(node)}`;
      case 'string':
        return node.minLength ? 'a non-empty string' : 'a string';
      case 'boolean':
        return 'true or false';
      case 'null':
        return 'null';
      case 'array': {
        const of = node.items ? ` whose items are each ${describeSchemaNode(node.items)}` : '';
        return node.minItems ? `a non-empty array${of}` : `an array${of}`;
      }
      case 'object':
        return 'an object';
      default:
        return t;
    }
  });
  return words.length ? words.join(' or ') : 'a valid value';
}

/** `cluster.k`, `eval.topK[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !(key in (value as object)))
      return { found: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value };
}

function showValue(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Turns zod issues into one sentence each, naming the field, the allowed values and what was
 * given: `field "cluster.k" must be an integer ≥ 1, got 0`.
 *
 * @example
 * ```ts
 * const r = cbtmConfigSchema.safeParse(input);
 * if (!r.success) console.error(formatConfigIssues(r.error.issues, input, jsonSchema).join('; '));
 * ```
 */
export function formatConfigIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  jsonSchema: JsonSchemaNode,
): string[] {
  return issues.map((issue) => {
    const path = issue.path;
    const field = formatPath(path);
    if (issue.code === 'unrecognized_keys') {
      const parent = schemaNodeAt(jsonSchema, path);
      const allowed = Object.keys(parent?.properties ?? {}).filter((k) => k !== '$schema');
      const names = issue.keys.map((k) => `"${formatPath([...path, k])}"`).join(', ');
      return `unknown field ${names}; allowed fields${field ? ` of "${field}"` : ''}: ${allowed.join(', ')}`;
    }
    if (issue.code === 'custom') return `field "${field}" ${issue.message}`;
    const node = schemaNodeAt(jsonSchema, path);
    const given = valueAt(input, path);
    const got = given.found ? `, got ${showValue(given.value)}` : '';
    if (!node) return `field "${field}": ${issue.message}${got}`;
    return `field "${field || '(root)'}" must be ${describeSchemaNode(node)}${got}`;
  });
}
