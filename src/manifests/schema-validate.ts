import type { Document, LineCounter } from 'yaml';
import { lineOf } from '../config/yaml-locate.ts';
import { convertRe2Pattern } from './schema-re2.ts';

/** The subset of OpenAPI v3 (as restricted by Kubernetes structural schemas) that CRDs use. */
export interface SchemaProps {
  type?: string;
  format?: string;
  properties?: Record<string, SchemaProps>;
  required?: string[];
  additionalProperties?: SchemaProps | boolean;
  items?: SchemaProps;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean | number;
  exclusiveMaximum?: boolean | number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: unknown;
  anyOf?: SchemaProps[];
  oneOf?: SchemaProps[];
  allOf?: SchemaProps[];
  not?: SchemaProps;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

/** The parsed JSON (or YAML) of an `apiextensions.k8s.io/v1` CustomResourceDefinition. */
export interface CrdLike {
  spec?: {
    group?: string;
    names?: { kind?: string };
    versions?: { name?: string; served?: boolean; schema?: { openAPIV3Schema?: SchemaProps } }[];
  };
}

/** One reason the API server would reject a manifest, pointing at the field and, when known, its line. */
export interface SchemaIssue {
  /** Dotted, with `[i]` for list items and `[key]` for map keys, e.g. `spec.template.spec.requirements[0].operator`. */
  path: string;
  line?: number;
  /** In the API server's words where possible, e.g. `Required value`. */
  message: string;
}

/** Finds the line of a field in the manifest's source; `undefined` when it cannot tell. */
export type Locate = (path: readonly (string | number)[]) => number | undefined;

/** A key of an `additionalProperties` map; rendered as `[key]`, as Kubernetes' field paths do. */
interface MapKey {
  mapKey: string;
}
type Path = readonly (string | number | MapKey)[];

const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Checks a manifest against the schema its CRD serves for the manifest's apiVersion, offline, and
 * returns every problem at once, so a plan can point at each bad field by file and line even when
 * no cluster is reachable. It follows what the API server does before CEL: defaults fill absent
 * fields (so `required` is judged after defaulting), nulls in non-nullable fields are dropped,
 * unknown fields are reported as strict field validation does, `metadata` gets the ObjectMeta
 * checks. `x-kubernetes-validations` (CEL rules) are not evaluated here: the server-side dry run
 * runs them. A `pattern` that cannot be translated from RE2 is skipped rather than guessed.
 */
export function validateAgainstCrd(obj: unknown, crd: CrdLike, locate?: Locate): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const report = (path: Path, message: string): void => {
    const line = locate?.(publicPath(path));
    issues.push(
      line === undefined ? { path: renderPath(path), message } : { path: renderPath(path), line, message },
    );
  };
  if (!isObject(obj)) {
    report([], typeInvalid([], obj, 'object'));
    return issues;
  }
  const group = crd.spec?.group ?? '';
  const kind = crd.spec?.names?.kind ?? '';
  const served = (crd.spec?.versions ?? []).filter((v) => v.served !== false && v.name);
  const apiVersion = obj.apiVersion;
  const version = served.find((v) => `${group}/${v.name}` === apiVersion);
  const schema = version?.schema?.openAPIV3Schema;
  if (!version || !schema) {
    const list = served.map((v) => `${group}/${v.name}`).join(', ') || 'none';
    report(
      ['apiVersion'],
      `no matches for kind "${kind}" in version ${JSON.stringify(apiVersion ?? '')}: the CRD serves ${list}`,
    );
    return issues;
  }
  if (kind && obj.kind !== kind) {
    report(['kind'], `Unsupported value: ${formatValue(obj.kind ?? '')}: supported values: "${kind}"`);
  }
  const { metadata: _metadata, ...rest } = obj;
  const rootSchema: SchemaProps = { ...schema, properties: { ...schema.properties } };
  delete rootSchema.properties!.metadata;
  validateValue(rest, rootSchema, [], report, true);
  validateObjectMeta(obj.metadata, report);
  return issues;
}

/**
 * Maps a path inside one YAML document to the 1-based line of that node, falling back to the
 * nearest parent that exists, so a schema issue about a missing field still names a useful line.
 */
export function buildYamlLocator(doc: Document, lineCounter: LineCounter): Locate {
  return (path) => lineOf(doc, lineCounter, path);
}

type Report = (path: Path, message: string) => void;

function validateValue(
  value: unknown,
  schema: SchemaProps,
  path: Path,
  report: Report,
  structural: boolean,
): void {
  if (value === null || value === undefined) {
    if (schema.nullable) return;
    if (schema.type || schema['x-kubernetes-int-or-string']) {
      report(path, typeInvalid(path, null, schema.type ?? 'integer or string'));
    }
    return;
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || Number.isInteger(value))) {
      report(path, typeInvalid(path, value, 'integer or string'));
      return;
    }
  } else if (schema.type && !hasType(value, schema.type)) {
    report(path, typeInvalid(path, value, schema.type));
    return;
  }
  if (typeof value === 'string') validateString(value, schema, path, report);
  if (typeof value === 'number') validateNumber(value, schema, path, report);
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, value))) {
    const supported = schema.enum.map((e) =>
      typeof e === 'string' ? JSON.stringify(e) : JSON.stringify(JSON.stringify(e)),
    );
    report(path, `Unsupported value: ${formatValue(value)}: supported values: ${supported.join(', ')}`);
  }
  if (Array.isArray(value)) validateArray(value, schema, path, report, structural);
  else if (isObject(value)) validateObject(value, schema, path, report, structural);
  validateCombinators(value, schema, path, report);
}

function validateString(value: string, schema: SchemaProps, path: Path, report: Report): void {
  const at = inBody(path);
  if (schema.format === 'date-time' && !RFC3339.test(value)) {
    report(
      path,
      `Invalid value: ${formatValue(value)}: ${at} must be of type date-time: ${JSON.stringify(value)}`,
    );
  }
  const length = [...value].length;
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    report(path, `Too long: may not be more than ${schema.maxLength} bytes`);
  }
  if (schema.minLength !== undefined && length < schema.minLength) {
    report(
      path,
      `Invalid value: ${formatValue(value)}: ${at} should be at least ${schema.minLength} chars long`,
    );
  }
  if (schema.pattern !== undefined) {
    let re: RegExp | undefined;
    try {
      re = convertRe2Pattern(schema.pattern);
    } catch {
      re = undefined;
    }
    if (re && !re.test(value)) {
      report(path, `Invalid value: ${formatValue(value)}: ${at} should match '${schema.pattern}'`);
    }
  }
}

function validateNumber(value: number, schema: SchemaProps, path: Path, report: Report): void {
  const at = inBody(path);
  const invalid = (why: string): void => report(path, `Invalid value: ${formatValue(value)}: ${at} ${why}`);
  if (schema.format === 'int32' && (value < INT32_MIN || value > INT32_MAX)) {
    invalid(`must be of type int32: "${value}"`);
  }
  if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) {
    invalid(`should be greater than ${schema.exclusiveMinimum}`);
  }
  if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) {
    invalid(`should be less than ${schema.exclusiveMaximum}`);
  }
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum === true && value <= schema.minimum)
      invalid(`should be greater than ${schema.minimum}`);
    else if (schema.exclusiveMinimum !== true && value < schema.minimum) {
      invalid(`should be greater than or equal to ${schema.minimum}`);
    }
  }
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum === true && value >= schema.maximum)
      invalid(`should be less than ${schema.maximum}`);
    else if (schema.exclusiveMaximum !== true && value > schema.maximum) {
      invalid(`should be less than or equal to ${schema.maximum}`);
    }
  }
}

function validateArray(
  value: unknown[],
  schema: SchemaProps,
  path: Path,
  report: Report,
  structural: boolean,
): void {
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    report(path, `Too many: ${value.length}: must have at most ${schema.maxItems} items`);
  }
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    report(
      path,
      `Invalid value: ${value.length}: ${inBody(path)} should have at least ${schema.minItems} items`,
    );
  }
  if (schema.items) {
    value.forEach((item, i) => validateValue(item, schema.items!, [...path, i], report, structural));
  }
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'set') {
    const seen = new Set<string>();
    value.forEach((item, i) => {
      const key = canonical(item);
      if (seen.has(key)) report([...path, i], `Duplicate value: ${formatValue(item)}`);
      seen.add(key);
    });
  } else if (listType === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const seen = new Set<string>();
    value.forEach((item, i) => {
      if (!isObject(item)) return;
      const entry = Object.fromEntries(
        keys.map((k) => [k, item[k] ?? schema.items?.properties?.[k]?.default ?? null]),
      );
      const key = canonical(entry);
      if (seen.has(key)) report([...path, i], `Duplicate value: ${JSON.stringify(entry)}`);
      seen.add(key);
    });
  }
}

function validateObject(
  value: Record<string, unknown>,
  schema: SchemaProps,
  path: Path,
  report: Report,
  structural: boolean,
): void {
  const props = schema.properties ?? {};
  const effective: Record<string, unknown> = {};
  const additional = schema.additionalProperties;
  for (const [k, v] of Object.entries(value)) {
    const declared = props[k] ?? (isObject(additional) ? additional : undefined);
    if (v === null && structural && declared && !declared.nullable) continue;
    effective[k] = v;
  }
  if (structural) {
    for (const [k, prop] of Object.entries(props)) {
      if (effective[k] === undefined && prop.default !== undefined)
        effective[k] = structuredClone(prop.default);
    }
  }
  const count = Object.keys(effective).length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    report(path, `Too many: ${count}: must have at most ${schema.maxProperties} items`);
  }
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    report(
      path,
      `Invalid value: ${count}: ${inBody(path)} should have at least ${schema.minProperties} properties`,
    );
  }
  for (const name of schema.required ?? []) {
    if (effective[name] === undefined) report([...path, name], 'Required value');
  }
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [k, v] of Object.entries(effective)) {
    const prop = props[k];
    if (prop) {
      validateValue(v, prop, [...path, k], report, structural);
    } else if (isObject(additional)) {
      validateValue(v, additional, [...path, mapKey(k)], report, structural);
    } else if (structural && additional !== true && !preserve) {
      report([...path, k], 'field not declared in schema');
    }
  }
}

function validateCombinators(value: unknown, schema: SchemaProps, path: Path, report: Report): void {
  const passes = (s: SchemaProps): boolean => {
    let ok = true;
    validateValue(value, s, path, () => (ok = false), false);
    return ok;
  };
  const at = inBody(path);
  for (const s of schema.allOf ?? []) validateValue(value, s, path, report, false);
  if (schema.anyOf && !schema['x-kubernetes-int-or-string'] && !schema.anyOf.some(passes)) {
    report(path, `Invalid value: ${formatValue(value)}: ${at} must validate at least one schema (anyOf)`);
  }
  if (schema.oneOf && schema.oneOf.filter(passes).length !== 1) {
    report(path, `Invalid value: ${formatValue(value)}: ${at} must validate one and only one schema (oneOf)`);
  }
  if (schema.not && passes(schema.not)) {
    report(path, `Invalid value: ${formatValue(value)}: ${at} must not validate the schema (not)`);
  }
}

function validateObjectMeta(meta: unknown, report: Report): void {
  const base = ['metadata'];
  if (meta === undefined || meta === null) {
    report([...base, 'name'], 'Required value: name or generateName is required');
    return;
  }
  if (!isObject(meta)) {
    report(base, typeInvalid(base, meta, 'object'));
    return;
  }
  for (const k of Object.keys(meta)) {
    if (!OBJECT_META_FIELDS.has(k)) report([...base, k], 'field not declared in schema');
  }
  const { name, generateName } = meta;
  if (name === undefined || name === null || name === '') {
    if (typeof generateName !== 'string' || generateName === '') {
      report([...base, 'name'], 'Required value: name or generateName is required');
    }
  } else if (typeof name !== 'string') {
    report([...base, 'name'], typeInvalid([...base, 'name'], name, 'string'));
  } else {
    if (name.length > 253)
      report([...base, 'name'], `Invalid value: ${formatValue(name)}: must be no more than 253 characters`);
    if (!DNS1123_SUBDOMAIN.test(name))
      report([...base, 'name'], `Invalid value: ${formatValue(name)}: ${DNS1123_SUBDOMAIN_MESSAGE}`);
  }
  for (const field of ['generateName', 'namespace'] as const) {
    const v = meta[field];
    if (v !== undefined && v !== null && typeof v !== 'string')
      report([...base, field], typeInvalid([...base, field], v, 'string'));
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = meta[field];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) {
      report([...base, field], typeInvalid([...base, field], map, 'object'));
      continue;
    }
    for (const [k, v] of Object.entries(map)) {
      const p = [...base, field, mapKey(k)];
      if (typeof v !== 'string') report(p, typeInvalid(p, v, 'string'));
    }
  }
}

function mapKey(key: string): MapKey {
  return { mapKey: key };
}

function publicPath(path: Path): (string | number)[] {
  return path.map((seg) => (typeof seg === 'object' ? seg.mapKey : seg));
}

function renderPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'object') out += `[${seg.mapKey}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function inBody(path: Path): string {
  return `${renderPath(path) || '<root>'} in body`;
}

function typeInvalid(path: Path, value: unknown, type: string): string {
  return `Invalid value: ${formatValue(value)}: ${inBody(path)} must be of type ${type}: "${jsonType(value)}"`;
}

function jsonType(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  const actual = jsonType(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const json = JSON.stringify(value);
  return json.length > 120 ? `${json.slice(0, 117)}...` : json;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function deepEqual(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}
