import { stringify } from 'yaml';

/** One object of the config's manifests; `locate`, when given, lets notes point at the exact field. */
export interface ManifestObject {
  obj: Record<string, unknown>;
  file: string;
  line: number;
  locate?: (path: readonly (string | number)[]) => number | undefined;
}

/** One change the v1 API requires, explained for the platform engineer who owns the manifest. */
export interface ConversionNote {
  file: string;
  line: number;
  /** `Kind/name`, e.g. `NodePool/default`. */
  ref: string;
  /** The field in the original manifest, dotted, map keys as `[key]`, e.g. `spec.disruption.expireAfter`. */
  path: string;
  message: string;
}

/** Something the conversion cannot decide for the user (error) or a behaviour change to review (warning). */
export interface ConversionFinding {
  level: 'error' | 'warning';
  file: string;
  line: number;
  message: string;
  fix: string;
}

/** What a plan shows and `convert` writes: the v1 objects, why each change was needed, and what needs a person. */
export interface ConversionResult<T extends ManifestObject = ManifestObject> {
  /** Index-aligned with the input: v1beta1 objects converted, everything else unchanged. */
  converted: T[];
  changes: ConversionNote[];
  findings: ConversionFinding[];
}

type Obj = Record<string, unknown>;

const NODEPOOL_V1BETA1 = 'karpenter.sh/v1beta1';
const NODEPOOL_V1 = 'karpenter.sh/v1';
const NODECLASS_V1BETA1 = 'karpenter.k8s.aws/v1beta1';
const NODECLASS_V1 = 'karpenter.k8s.aws/v1';
const NODECLASS_GROUP = 'karpenter.k8s.aws';
const NODECLASS_KIND = 'EC2NodeClass';
const ALIAS_FAMILIES: Record<string, string> = {
  AL2: 'al2',
  AL2023: 'al2023',
  Bottlerocket: 'bottlerocket',
  Windows2019: 'windows2019',
  Windows2022: 'windows2022',
};
const PIN_EXAMPLES: Record<string, string> = {
  al2: 'al2@v20240703',
  al2023: 'al2023@v20240703',
  bottlerocket: 'bottlerocket@v1.20.4',
};
const V1BETA1_METADATA_DEFAULTS = {
  httpEndpoint: 'enabled',
  httpProtocolIPv6: 'disabled',
  httpPutResponseHopLimit: 2,
  httpTokens: 'required',
};
const REMOVED_ANNOTATIONS = ['karpenter.sh/do-not-consolidate', 'karpenter.sh/do-not-evict'];
const DO_NOT_DISRUPT = 'karpenter.sh/do-not-disrupt';
const TOP_LEVEL_ORDER = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const METADATA_ORDER = ['name', 'generateName', 'namespace', 'labels', 'annotations'];

interface Context {
  changes: { index: number; note: ConversionNote }[];
  findings: { index: number; finding: ConversionFinding }[];
}

interface Source {
  m: ManifestObject;
  index: number;
  ref: string;
}

/**
 * Karpenter 1.1 and later no longer serve `karpenter.sh/v1beta1` and `karpenter.k8s.aws/v1beta1`, yet
 * most guides and repos still carry them. This turns every v1beta1 NodePool and EC2NodeClass into
 * its v1 equivalent and explains each required change, so a plan can show the v1 manifests and a
 * `convert` command can write them. It sees all objects at once because a NodePool's kubelet
 * settings move to the EC2NodeClass it references. Where the right answer depends on the user
 * (shared classes with different kubelets, Ubuntu, Custom without AMIs, pre-v1beta1 kinds) it
 * reports an error finding and leaves the field as it was, so nothing is silently dropped.
 */
export function convertV1beta1<T extends ManifestObject>(objects: readonly T[]): ConversionResult<T> {
  const ctx: Context = { changes: [], findings: [] };
  const converted: Obj[] = objects.map((m) => (isLegacy(m.obj) ? structuredClone(m.obj) : m.obj));

  objects.forEach((m, i) => {
    const { apiVersion, kind } = m.obj;
    const src: Source = { m, index: i, ref: `${String(kind)}/${nameOf(m.obj)}` };
    if (apiVersion === NODEPOOL_V1BETA1 && kind === 'NodePool') {
      convertNodePool(converted[i]!, src, ctx);
    } else if (apiVersion === NODECLASS_V1BETA1 && kind === NODECLASS_KIND) {
      convertNodeClass(converted[i]!, src, ctx);
    } else if (apiVersion === 'karpenter.sh/v1alpha5' && kind === 'Provisioner') {
      preV1beta1(src, 'NodePool', ctx);
    } else if (apiVersion === 'karpenter.k8s.aws/v1alpha1' && kind === 'AWSNodeTemplate') {
      preV1beta1(src, NODECLASS_KIND, ctx);
    }
  });
  moveKubelet(objects, converted, ctx);

  return {
    converted: objects.map((m, i) => (converted[i] === m.obj ? m : { ...m, obj: converted[i]! })),
    changes: ctx.changes.sort((a, b) => a.index - b.index).map((c) => c.note),
    findings: ctx.findings.sort((a, b) => a.index - b.index).map((f) => f.finding),
  };
}

/**
 * Multi-document YAML of the objects, apiVersion, kind, metadata and spec first, so the v1 manifests
 * a plan shows or `convert` writes read like hand-written ones and are identical on every run.
 */
export function renderV1Yaml(objects: readonly ManifestObject[]): string {
  return objects
    .map((m) => {
      const obj = orderKeys(m.obj, TOP_LEVEL_ORDER);
      if (isObject(obj.metadata)) obj.metadata = orderKeys(obj.metadata, METADATA_ORDER);
      return stringify(obj, { lineWidth: 0, singleQuote: true });
    })
    .join('---\n');
}

function isLegacy(obj: Obj): boolean {
  return obj.apiVersion === NODEPOOL_V1BETA1 || obj.apiVersion === NODECLASS_V1BETA1;
}

function convertNodePool(obj: Obj, src: Source, ctx: Context): void {
  obj.apiVersion = NODEPOOL_V1;
  note(
    ctx,
    src,
    ['apiVersion'],
    `apiVersion ${NODEPOOL_V1BETA1} → ${NODEPOOL_V1}: Karpenter 1.1 and later no longer serve v1beta1.`,
  );
  const spec = isObject(obj.spec) ? obj.spec : undefined;
  const template = isObject(spec?.template) ? spec.template : undefined;
  const tspec = isObject(template?.spec) ? template.spec : undefined;

  const disruption = isObject(spec?.disruption) ? spec.disruption : undefined;
  if (spec && disruption) {
    let d: Obj = disruption;
    if (d.consolidationPolicy === 'WhenUnderutilized') {
      d.consolidationPolicy = 'WhenEmptyOrUnderutilized';
      note(
        ctx,
        src,
        ['spec', 'disruption', 'consolidationPolicy'],
        'consolidationPolicy WhenUnderutilized → WhenEmptyOrUnderutilized: v1 renamed the policy; it consolidates the same nodes.',
      );
    }
    if (d.expireAfter !== undefined && tspec) {
      const expireAfter = d.expireAfter;
      delete d.expireAfter;
      tspec.expireAfter = expireAfter;
      note(
        ctx,
        src,
        ['spec', 'disruption', 'expireAfter'],
        `expireAfter (${text(expireAfter)}) moves from spec.disruption to spec.template.spec.expireAfter. In v1 expiry is forceful: ` +
          'an expired node is drained without waiting for replacement capacity, and changing expireAfter drifts (replaces) existing nodes.',
      );
    }
    if (d.consolidateAfter === undefined) {
      d = insertAfter(d, 'consolidationPolicy', 'consolidateAfter', '0s');
      spec.disruption = d;
      note(
        ctx,
        src,
        ['spec', 'disruption'],
        'consolidateAfter: 0s added: Karpenter 1.0 to 1.14 require consolidateAfter whenever spec.disruption is set (1.15 defaults it ' +
          'to 0s); 0s keeps the v1beta1 behaviour of consolidating as soon as a node qualifies (a few minutes reduces churn).',
      );
    }
  }

  if (tspec && isObject(tspec.nodeClassRef)) {
    const old = tspec.nodeClassRef;
    const group =
      typeof old.apiVersion === 'string' && old.apiVersion !== ''
        ? old.apiVersion.split('/')[0]!
        : NODECLASS_GROUP;
    const ref = {
      group,
      kind: typeof old.kind === 'string' && old.kind !== '' ? old.kind : NODECLASS_KIND,
      name: old.name,
    };
    tspec.nodeClassRef = ref;
    const was = old.apiVersion === undefined ? 'no apiVersion' : `apiVersion ${text(old.apiVersion)}`;
    note(
      ctx,
      src,
      ['spec', 'template', 'spec', 'nodeClassRef'],
      `nodeClassRef {apiVersion, kind, name} → {group, kind, name} (group ${ref.group} from ${was}, kind ${ref.kind}): ` +
        'v1 names the node class by API group, and group, kind and name are all required.',
    );
  }

  if (tspec && tspec.resources !== undefined) {
    delete tspec.resources;
    note(
      ctx,
      src,
      ['spec', 'template', 'spec', 'resources'],
      'resources removed: v1 NodePools have no resources field (it had to be empty in v1beta1).',
    );
  }

  renameAnnotations(obj, ['metadata', 'annotations'], src, ctx);
  renameAnnotations(obj, ['spec', 'template', 'metadata', 'annotations'], src, ctx);
}

function convertNodeClass(obj: Obj, src: Source, ctx: Context): void {
  obj.apiVersion = NODECLASS_V1;
  note(
    ctx,
    src,
    ['apiVersion'],
    `apiVersion ${NODECLASS_V1BETA1} → ${NODECLASS_V1}: Karpenter 1.1 and later no longer serve v1beta1.`,
  );
  renameAnnotations(obj, ['metadata', 'annotations'], src, ctx);
  if (!isObject(obj.spec)) return;
  let spec: Obj = obj.spec;
  const family = spec.amiFamily === undefined ? undefined : text(spec.amiFamily);
  const hasTerms = Array.isArray(spec.amiSelectorTerms) && spec.amiSelectorTerms.length > 0;
  const alias = family === undefined ? undefined : ALIAS_FAMILIES[family];

  if (family === 'Ubuntu') {
    finding(
      ctx,
      src,
      'error',
      ['spec', 'amiFamily'],
      `${src.ref} uses amiFamily Ubuntu, which Karpenter v1 removed.`,
      'select the Ubuntu AMI explicitly in amiSelectorTerms (id, name with owner, tags or ssmParameter) and set ' +
        'amiFamily AL2 (the same bootstrap) or Custom with your own user data',
    );
  } else if (family === 'Custom' && !hasTerms) {
    finding(
      ctx,
      src,
      'error',
      ['spec', 'amiFamily'],
      `${src.ref} has amiFamily Custom without amiSelectorTerms; v1 requires amiSelectorTerms, ` +
        'and Karpenter cannot pick an AMI for a Custom family.',
      'add amiSelectorTerms naming your AMI (id, name with owner, tags or ssmParameter)',
    );
  } else if (family === undefined) {
    finding(
      ctx,
      src,
      'error',
      hasTerms ? ['spec', 'amiSelectorTerms'] : ['spec'],
      hasTerms
        ? `${src.ref} has amiSelectorTerms but no amiFamily; v1 needs amiFamily unless the terms use an alias.`
        : `${src.ref} has neither amiFamily nor amiSelectorTerms; v1 requires amiSelectorTerms.`,
      hasTerms
        ? 'set amiFamily to the family of the selected AMIs (AL2, AL2023, Bottlerocket, Windows2019, Windows2022) or Custom'
        : 'add amiSelectorTerms with an alias such as al2023@<version>, or explicit AMIs together with amiFamily',
    );
  } else if (!hasTerms && alias === undefined) {
    finding(
      ctx,
      src,
      'error',
      ['spec', 'amiFamily'],
      `${src.ref} has amiFamily ${family}, which v1 does not know, and no amiSelectorTerms.`,
      'use amiSelectorTerms with an alias (al2, al2023, bottlerocket, windows2019, windows2022, windows2025)',
    );
  } else if (!hasTerms && alias !== undefined) {
    const value = `${alias}@latest`;
    spec = replaceKey(spec, 'amiFamily', 'amiSelectorTerms', [{ alias: value }]);
    obj.spec = spec;
    note(
      ctx,
      src,
      ['spec', 'amiFamily'],
      `amiSelectorTerms [{alias: ${value}}] added and amiFamily ${family} removed: v1 requires amiSelectorTerms; ` +
        `the alias selects the EKS-optimized ${family} AMI that amiFamily alone used to pick, and implies the family.`,
    );
    const windows = alias.startsWith('windows');
    finding(
      ctx,
      src,
      'warning',
      ['spec', 'amiFamily'],
      `${src.ref} now follows ${value}: every new ${windows ? 'Windows ' : ''}AMI release drifts (replaces) all of its nodes.`,
      windows
        ? 'Windows aliases accept only @latest; to control AMI updates, select the AMIs explicitly in amiSelectorTerms ' +
            `(id, name or tags) and set amiFamily ${family}`
        : `pin a tested release, e.g. ${PIN_EXAMPLES[alias] ?? `${alias}@<version>`}, and bump it deliberately`,
    );
  }

  if (family === 'Custom') {
    finding(
      ctx,
      src,
      'warning',
      ['spec', 'userData'],
      `${src.ref} uses amiFamily Custom: v1 nodes must register with the taint karpenter.sh/unregistered:NoExecute, ` +
        'which Karpenter removes once the node is initialised.',
      'make the user data start the kubelet with --register-with-taints=karpenter.sh/unregistered:NoExecute ' +
        '(or the equivalent for your bootstrap)',
    );
  }

  const metadataOptions = isObject(spec.metadataOptions) ? spec.metadataOptions : undefined;
  if (metadataOptions?.httpPutResponseHopLimit === undefined) {
    spec.metadataOptions = { ...V1BETA1_METADATA_DEFAULTS, ...metadataOptions, httpPutResponseHopLimit: 2 };
    note(
      ctx,
      src,
      metadataOptions ? ['spec', 'metadataOptions'] : ['spec'],
      'metadataOptions.httpPutResponseHopLimit: 2 written out: v1 changed the default from 2 to 1, and 2 keeps the ' +
        'v1beta1 behaviour in which pods that are not on the host network can reach the instance metadata service (IMDS).',
    );
    finding(
      ctx,
      src,
      'warning',
      ['spec', 'metadataOptions'],
      `${src.ref} keeps IMDS hop limit 2 as under v1beta1: pods that call IMDS without hostNetwork (for node-role ` +
        "credentials or the region) need it; v1's default of 1 blocks them.",
      'once no pod relies on IMDS (use IRSA or EKS Pod Identity instead), set metadataOptions.httpPutResponseHopLimit: 1, ' +
        'the hardened choice',
    );
  }
}

function moveKubelet(objects: readonly ManifestObject[], converted: Obj[], ctx: Context): void {
  interface Pool {
    index: number;
    src: Source;
    kubelet: unknown;
  }
  const byClass = new Map<string, Pool[]>();
  objects.forEach((m, index) => {
    const isPool =
      m.obj.kind === 'NodePool' && [NODEPOOL_V1BETA1, NODEPOOL_V1].includes(String(m.obj.apiVersion));
    const tspec = isPool ? templateSpec(converted[index]!) : undefined;
    const className = referencedNodeClass(tspec);
    if (className === undefined) return;
    const kubelet = m.obj.apiVersion === NODEPOOL_V1BETA1 ? tspec?.kubelet : undefined;
    const list = byClass.get(className) ?? [];
    list.push({ index, src: { m, index, ref: `NodePool/${nameOf(m.obj)}` }, kubelet });
    byClass.set(className, list);
  });

  for (const [className, pools] of byClass) {
    const withKubelet = pools.filter((p) => p.kubelet !== undefined);
    if (withKubelet.length === 0) continue;
    const first = withKubelet[0]!;
    const names = pools.map((p) => p.src.ref).join(', ');
    const classIndex = objects.findIndex(
      (m) =>
        m.obj.kind === NODECLASS_KIND &&
        [NODECLASS_V1BETA1, NODECLASS_V1].includes(String(m.obj.apiVersion)) &&
        nameOf(m.obj) === className,
    );
    const classObj = classIndex >= 0 ? converted[classIndex]! : undefined;
    const kubeletPath = ['spec', 'template', 'spec', 'kubelet'];

    if (new Set(pools.map((p) => canonical(p.kubelet))).size > 1) {
      finding(
        ctx,
        first.src,
        'error',
        kubeletPath,
        `${names} share EC2NodeClass/${className} but have different kubelet settings; in v1 kubelet settings live on the EC2NodeClass, ` +
          'so each kubelet configuration needs its own EC2NodeClass.',
        `copy EC2NodeClass/${className} once per kubelet configuration, move each NodePool's kubelet block into its copy's spec.kubelet ` +
          "and point the NodePool's nodeClassRef at it; this drifts (replaces) the nodes of every NodePool that changes class",
      );
      continue;
    }
    if (!classObj) {
      finding(
        ctx,
        first.src,
        'error',
        kubeletPath,
        `${first.src.ref} sets kubelet, which moves to the EC2NodeClass in v1, but EC2NodeClass/${className} is not among the manifests.`,
        `add the kubelet block to EC2NodeClass/${className}'s spec.kubelet where that class is defined, and remove it from the NodePool`,
      );
      continue;
    }
    const classSpec = isObject(classObj.spec) ? classObj.spec : undefined;
    const classSrc: Source = {
      m: objects[classIndex]!,
      index: classIndex,
      ref: `${NODECLASS_KIND}/${className}`,
    };
    if (objects[classIndex]!.obj.apiVersion !== NODECLASS_V1BETA1) {
      if (!classSpec || canonical(classSpec.kubelet) !== canonical(first.kubelet)) {
        finding(
          ctx,
          first.src,
          'error',
          kubeletPath,
          `${first.src.ref} sets kubelet, which moves to the EC2NodeClass in v1, but EC2NodeClass/${className} is already v1 without the same kubelet settings.`,
          `set the same kubelet block in EC2NodeClass/${className}'s spec.kubelet (this drifts its nodes) or give the NodePool its own EC2NodeClass`,
        );
        continue;
      }
    } else {
      const target = classSpec ?? {};
      target.kubelet = structuredClone(first.kubelet);
      classObj.spec = target;
      note(
        ctx,
        classSrc,
        ['spec'],
        `spec.kubelet added from ${withKubelet.map((p) => p.src.ref).join(', ')}: in v1 kubelet settings belong to the EC2NodeClass.`,
      );
    }
    for (const p of withKubelet) {
      const tspec = templateSpec(converted[p.index]!);
      if (tspec) delete tspec.kubelet;
      note(
        ctx,
        p.src,
        kubeletPath,
        `kubelet moves to EC2NodeClass/${className} spec.kubelet: in v1 kubelet settings belong to the node class.`,
      );
    }
  }
}

function renameAnnotations(obj: Obj, path: string[], src: Source, ctx: Context): void {
  let parent: unknown = obj;
  for (const key of path.slice(0, -1)) parent = isObject(parent) ? parent[key] : undefined;
  const last = path[path.length - 1]!;
  if (!isObject(parent) || !isObject(parent[last])) return;
  const annotations = parent[last];
  const found = REMOVED_ANNOTATIONS.filter((a) => a in annotations);
  if (found.length === 0) return;
  const entries: [string, unknown][] = [];
  let placed = DO_NOT_DISRUPT in annotations;
  for (const [k, v] of Object.entries(annotations)) {
    if (!REMOVED_ANNOTATIONS.includes(k)) entries.push([k, v]);
    else if (!placed) {
      entries.push([DO_NOT_DISRUPT, v]);
      placed = true;
    }
  }
  parent[last] = Object.fromEntries(entries);
  for (const a of found) {
    note(
      ctx,
      src,
      [...path, a],
      `annotation ${a} → ${DO_NOT_DISRUPT}: v1 removed ${a}; ${DO_NOT_DISRUPT} is the one annotation that blocks voluntary disruption.`,
    );
  }
}

function preV1beta1(src: Source, replacement: string, ctx: Context): void {
  const { apiVersion } = src.m.obj;
  finding(
    ctx,
    src,
    'error',
    ['apiVersion'],
    `${src.ref} (${String(apiVersion)}) predates v1beta1 and cannot be converted to v1 directly; ${String(src.m.obj.kind)} was replaced by ${replacement}.`,
    `migrate it to a v1beta1 ${replacement} first as the Karpenter 0.32 upgrade guide describes (or rewrite it as a v1 ${replacement}), then convert`,
  );
}

function note(ctx: Context, src: Source, path: string[], message: string): void {
  const entry = { file: src.m.file, line: lineOf(src, path), ref: src.ref, path: renderPath(path), message };
  ctx.changes.push({ index: src.index, note: entry });
}

function finding(
  ctx: Context,
  src: Source,
  level: 'error' | 'warning',
  path: string[],
  message: string,
  fix: string,
): void {
  ctx.findings.push({
    index: src.index,
    finding: { level, file: src.m.file, line: lineOf(src, path), message, fix },
  });
}

function renderPath(path: string[]): string {
  return path
    .map((seg, i) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg) ? `${i === 0 ? '' : '.'}${seg}` : `[${seg}]`))
    .join('');
}

function lineOf(src: Source, path: string[]): number {
  return src.m.locate?.(path) ?? src.m.line;
}

function referencedNodeClass(tspec: Obj | undefined): string | undefined {
  const ref = isObject(tspec?.nodeClassRef) ? tspec.nodeClassRef : undefined;
  if (!ref || typeof ref.name !== 'string') return undefined;
  const isEc2NodeClass =
    (ref.group ?? NODECLASS_GROUP) === NODECLASS_GROUP && (ref.kind ?? NODECLASS_KIND) === NODECLASS_KIND;
  return isEc2NodeClass ? ref.name : undefined;
}

function templateSpec(obj: Obj): Obj | undefined {
  const spec = isObject(obj.spec) ? obj.spec : undefined;
  const template = isObject(spec?.template) ? spec.template : undefined;
  return isObject(template?.spec) ? template.spec : undefined;
}

function nameOf(obj: Obj): string {
  const meta = isObject(obj.metadata) ? obj.metadata : undefined;
  return typeof meta?.name === 'string' ? meta.name : '(unnamed)';
}

function insertAfter(obj: Obj, after: string, key: string, value: unknown): Obj {
  const out: Obj = {};
  let placed = false;
  for (const [k, v] of Object.entries(obj)) {
    out[k] = v;
    if (k === after) {
      out[key] = value;
      placed = true;
    }
  }
  return placed ? out : { [key]: value, ...obj };
}

function replaceKey(obj: Obj, old: string, key: string, value: unknown): Obj {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => (k === old ? [key, value] : [k, v])));
}

function orderKeys(obj: Obj, first: string[]): Obj {
  const out: Obj = {};
  for (const k of first) if (k in obj) out[k] = obj[k];
  for (const [k, v] of Object.entries(obj)) if (!(k in out)) out[k] = v;
  return out;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
