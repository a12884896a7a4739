import {
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  ListNodegroupsCommand,
  UpdateNodegroupConfigCommand,
} from '@aws-sdk/client-eks';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import type { AwsClients } from '../adapters/aws.ts';
import { ensureHelm } from '../adapters/helm-install.ts';
import { readChartSource, shortDigest, verifyChartSource, type ChartSource } from '../adapters/helm-chart.ts';
import { HelmReleases } from '../adapters/helm-release.ts';
import { readChartValues, resolveChart, templateChart, type HelmInfo } from '../adapters/helm.ts';
import { Refusal } from '../errors.ts';
import { KubeDiscovery } from '../adapters/kube-discovery.ts';
import { watchUntil } from '../adapters/kube-watch.ts';
import { KubeApiError } from '../adapters/kube-http.ts';
import {
  conditionOf,
  resourcePath,
  type KubeObject,
  type KubePort,
  type KubeResource,
} from '../adapters/kube.ts';
import { CRDS, DEPLOYMENTS, NODES, SECRETS } from '../adapters/kube-resources.ts';
import { diffFields } from '../plan/field-diff.ts';
import type { Change, FieldChange, Finding, StagePlan } from '../plan/model.ts';
import { normalizeKubeObject } from '../plan/normalize.ts';
import { buildObjectChange } from '../plan/object-change.ts';
import { buildChartValues, checkValuesKeys, NODEGROUP_LABEL } from '../install/values.ts';
import {
  HELM_MANAGED_BY,
  HELM_RELEASE_NAME,
  HELM_RELEASE_NAMESPACE,
  normalizeVersion,
  readInstalledKarpenter,
  type HelmRelease,
} from '../install/detect.ts';
import { evaluateReleaseRecords, type ReleaseRecords } from '../install/release-records.ts';
import { evaluateUpgradePath, type RouteStep } from '../install/upgrade-path.ts';
import { isClusterAutoscaler } from './prereqs/preflight.ts';
import type { ClusterConfig } from '../config/load.ts';
import type { AppliedChange, BaseContext, Stage, StageResult } from './types.ts';

export const CRD_RELEASE = 'karpenter-crd';
export const CONTROLLER_RELEASE = 'karpenter';
export interface InstallContext extends BaseContext {
  aws: AwsClients;
  kube: KubePort;
  /** The directory the config file is in: a local chart repository is relative to it. */
  configDir: string;
  /** Where a pinned helm is kept between runs. */
  toolCacheDir: string;
  /** Filled by plan for apply: the helm to use and what each release gets. */
  desired?: InstallDesired;
}

interface ReleasePlan {
  release: string;
  /** The chart pinned for this run: the copy the plan rendered, installed after its digest is checked again. */
  source: ChartSource;
  values: Record<string, unknown>;
  skipCrds: boolean;
  /** Whether the plan has any change for this release (its version or one of its objects). */
  changed: boolean;
  crdNames: string[];
  /** The plan's changes that this release carries out. */
  refs: string[];
}

/** What the Helm release change shows and the fingerprint covers: the chart, its version and its digest. */
const releaseAfter = (s: ChartSource) => ({ chart: s.name, version: s.version, digest: s.digest });

interface InstallDesired {
  helm: HelmInfo;
  namespace: string;
  releases: ReleasePlan[];
  /** Migration changes, carried out only once the controller is verified. */
  migration: { change: Change; run: () => Promise<void> }[];
  /** Route steps that prepare the helm releases (adopt, forget, uninstall, delete), in order. */
  preSteps: PreStep[];
  /** The releases whose Helm records apply checks before its first write (evaluateReleaseRecords). */
  records: Omit<ReleaseRecords, 'history'>[];
}

/** A change that prepares the releases, with the objects it covers (`Kind namespace/name`). */
interface PreStep {
  change: Change;
  covers: string[];
  run: (helm: HelmReleases) => Promise<void>;
}

const keyOf = (kind: string, namespace: string | undefined, name: string) =>
  `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
const objectKey = (o: KubeObject) => keyOf(String(o.kind), o.metadata?.namespace, String(o.metadata?.name));

const objectRef = (o: KubeObject) => {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : '';
  return `k8s:${String(o.apiVersion)}/${String(o.kind)}/${ns}${String(o.metadata?.name)}`;
};
const releaseRef = (namespace: string, release: string) => `helm:release/${namespace}/${release}`;

/** The objects of a rendered chart, in its order, with the release namespace filled in where needed. */
export function parseRendered(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => !!o && typeof o === 'object' && !!o.kind);
}

/** The metadata helm adds to every object it installs, so the dry-run sees the object as helm leaves it. */
function withHelmOwnership(o: KubeObject, release: string, namespace: string): KubeObject {
  const obj = structuredClone(o);
  const meta = (obj.metadata ??= {});
  meta.labels = { ...(meta.labels ?? {}), [HELM_MANAGED_BY]: 'Helm' };
  meta.annotations = {
    ...(meta.annotations ?? {}),
    [HELM_RELEASE_NAME]: release,
    [HELM_RELEASE_NAMESPACE]: namespace,
  };
  return obj;
}

/**
 * Each rendered object against the cluster: a server-side apply dry-run (which takes over the fields
 * the chart sets, as helm's upgrade would) compared with the live object, both normalized. A
 * namespaced object whose namespace does not exist yet is a create of the rendered object.
 */
async function diffObjects(
  kube: KubePort,
  discovery: KubeDiscovery,
  objects: KubeObject[],
  namespace: string,
  release: string,
): Promise<{
  changes: Change[];
  findings: Finding[];
  unowned: { res: KubeResource; obj: KubeObject }[];
  secrets: { res: KubeResource; obj: KubeObject }[];
}> {
  const changes: Change[] = [];
  const findings: Finding[] = [];
  const unowned: { res: KubeResource; obj: KubeObject }[] = [];
  const secrets: { res: KubeResource; obj: KubeObject }[] = [];
  for (const raw of objects) {
    const res = await discovery.resolve(String(raw.apiVersion), String(raw.kind));
    const obj = withHelmOwnership(raw, release, namespace);
    if (res?.namespaced && !obj.metadata?.namespace) obj.metadata = { ...obj.metadata, namespace };
    const ref = objectRef(obj);
    const base = {
      ref,
      stage: 'install' as const,
      kind: String(obj.kind),
      name: `${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${String(obj.metadata?.name)}`,
    };
    if (!res) {
      changes.push({
        ...base,
        action: 'create',
        after: normalizeKubeObject(obj),
        fieldChanges: [],
        reason: `part of the ${release} chart; its kind is not served yet`,
      });
      continue;
    }
    if (res.group === '' && res.kind === 'Secret') {
      secrets.push({ res, obj });
      continue;
    }
    const live = await kube.get(res, String(obj.metadata?.name), obj.metadata?.namespace);
    const ann = live?.metadata?.annotations ?? {};
    if (live && (ann[HELM_RELEASE_NAME] !== release || ann[HELM_RELEASE_NAMESPACE] !== namespace))
      unowned.push({ res, obj: live });
    let desired: KubeObject;
    try {
      desired = await kube.apply(res, obj, { dryRun: true });
    } catch (e) {
      if (!live && e instanceof KubeApiError && e.code === 404) desired = obj;
      else {
        findings.push({
          level: 'error',
          code: 'chart-object-rejected',
          message: `the API server rejects ${base.kind} ${base.name} of the ${release} chart: ${(e as Error).message}`,
          ref,
        });
        continue;
      }
    }
    const after = normalizeKubeObject(desired);
    changes.push(
      buildObjectChange(base, live ? normalizeKubeObject(live) : undefined, after, {
        create: `part of the ${release} chart`,
        same: 'matches the chart',
        differs: `differs from the ${release} chart`,
      }),
    );
  }
  return { changes, findings, unowned, secrets };
}

/**
 * A Secret the chart renders (the 1.0 charts' webhook certificate, whose data Karpenter fills in): the
 * plan reads no Secret, so its action follows the release's alone, the same for every identity. Helm
 * applies it with the release as the chart renders it.
 */
function secretChange(obj: KubeObject, release: string, releaseAction: Change['action']): Change {
  const base = {
    ref: objectRef(obj),
    stage: 'install' as const,
    kind: 'Secret',
    name: `${obj.metadata?.namespace ?? ''}/${String(obj.metadata?.name)}`,
    fieldChanges: [],
  };
  if (releaseAction === 'no-op')
    return {
      ...base,
      action: 'no-op',
      reason: `the ${release} release is unchanged; the plan reads no Secret`,
    };
  return {
    ...base,
    action: releaseAction === 'create' ? 'create' : 'update',
    after: normalizeKubeObject(obj),
    reason: `applied by helm with the ${release} release as the chart renders it; the plan reads no Secret, so its live state is not shown`,
  };
}

/**
 * The Helm release as one change. Its live state comes from the release's objects (detect.ts), never
 * from Helm's records: a release is unchanged when the chart version its objects are labelled with
 * (unknown for karpenter-crd, which labels nothing) is the target and every object matches the chart.
 */
/** A chart's own `fail` in a template (values it refuses together), as helm template reports it. */
export function readChartRefusal(e: unknown): string | undefined {
  const m = /execution error at \([^)]*\): (.+)/.exec(e instanceof Error ? e.message : String(e));
  return m?.[1]?.trim();
}

/**
 * The chart refuses the values: an error on the line of the first `install.values` key its message
 * names (the karpenter chart names keys as `settings.x.y`), else on the cluster's entry.
 */
function buildChartRefusal(c: ClusterConfig, version: string, message: string): Finding {
  const named = Object.keys(c.install.valuesLines)
    .filter((k) => message.includes(k))
    .sort((a, b) => message.indexOf(a) - message.indexOf(b) || b.length - a.length)[0];
  return {
    level: 'error',
    code: 'chart-values-refused',
    message: `the karpenter ${version} chart refuses install.values: ${message}`,
    fix: 'change install.values as the message says; these settings cannot be combined in this release',
    source: { file: c.source.file, line: named ? c.install.valuesLines[named]! : c.source.line },
  };
}

function releaseChange(
  namespace: string,
  release: string,
  source: ChartSource,
  live: HelmRelease | undefined,
  objectsChanged: boolean,
): Change {
  const base = {
    ref: releaseRef(namespace, release),
    stage: 'install' as const,
    kind: 'Helm release',
    name: `${namespace}/${release}`,
  };
  const after = releaseAfter(source);
  const pinned = `${source.name} ${source.version} (${source.digest})`;
  if (!live) {
    return {
      ...base,
      action: 'create',
      after,
      fieldChanges: [],
      reason: `helm install ${release} ${pinned}`,
    };
  }
  const liveVersion = normalizeVersion(live.chartVersion);
  const sameVersion = liveVersion === undefined || liveVersion === normalizeVersion(source.version);
  if (sameVersion && !objectsChanged)
    return {
      ...base,
      action: 'no-op',
      fieldChanges: [],
      reason: `its objects match ${source.name} ${source.version}`,
    };
  const before = { chart: live.chart, ...(live.chartVersion ? { version: live.chartVersion } : {}) };
  return {
    ...base,
    action: 'update',
    before,
    after,
    fieldChanges: diffFields(before, after),
    reason: !sameVersion
      ? `helm upgrade ${release} ${live.chartVersion ?? ''} → ${pinned}`
      : `helm upgrade ${release} to ${pinned} puts the chart objects back as the chart renders them`,
  };
}

async function planInstall(ctx: InstallContext): Promise<StagePlan> {
  const c = ctx.cluster;
  const version = c.karpenter.version;
  const namespace = c.karpenter.namespace;
  const findings: Finding[] = [];
  const changes: Change[] = [];
  const eks = (await ctx.aws.eks.send(new DescribeClusterCommand({ name: c.cluster }))).cluster;
  if (eks?.computeConfig?.enabled) {
    findings.push({
      level: 'error',
      code: 'eks-auto-mode-install',
      message: `cluster ${c.cluster} runs EKS Auto Mode: AWS runs Karpenter there and owns nodepools.karpenter.sh and nodeclaims.karpenter.sh; installing the karpenter-crd chart would replace CRDs the managed Karpenter depends on`,
      fix: 'leave Karpenter to Auto Mode on this cluster (remove "install" from the stages), or use a cluster without Auto Mode',
      source: c.source,
    });
    return { stage: 'install', changes, findings, notes: [] };
  }
  const notes: string[] = [];
  const installed = await readInstalledKarpenter(ctx.kube);
  const route = evaluateUpgradePath(installed, version, { namespace });
  findings.push(...route.findings);
  if (route.status !== 'up-to-date' && route.status !== 'install') notes.push(route.summary);
  notes.push(...route.notes);
  if (route.refusal) {
    findings.push({
      level: 'error',
      code: 'upgrade-route-refused',
      message: route.refusal.message,
      ...(route.refusal.details.length > 0 ? { fix: route.refusal.details.join('; ') } : {}),
      source: c.source,
    });
  }
  if (route.refusal || route.status === 'blocked') return { stage: 'install', changes, findings, notes };
  const first = Math.min(...route.steps.map((x) => x.apply));
  const now = route.steps.filter((x) => x.apply === first);
  const later = route.steps.filter((x) => x.apply > first);
  if (later.length > 0) {
    notes.push(
      `This apply runs step ${first} of the route; after it is applied and verified, the next plans continue with: ${later
        .map((x) => `(${x.apply}) ${x.description}`)
        .join('; ')}`,
    );
  }
  const crdStep = now.find((x) => x.action === 'upgrade-crds');
  const ctrlStep = now.find((x) => x.action === 'upgrade-controller');
  const crdVersion = crdStep?.version ?? version;
  const ctrlVersion = ctrlStep?.version ?? version;
  const helm = await ensureHelm({
    ...(c.install.helm ? { pinned: c.install.helm } : {}),
    cacheDir: ctx.toolCacheDir,
    log: ctx.log,
  });
  let crdSource: ChartSource;
  let ctrlSource: ChartSource;
  try {
    const crdRef = resolveChart(
      c.karpenter.chartRepository,
      'karpenter-crd',
      crdStep?.chartVersion ?? crdVersion,
      ctx.configDir,
    );
    const ctrlRef = resolveChart(
      c.karpenter.chartRepository,
      'karpenter',
      ctrlStep?.chartVersion ?? ctrlVersion,
      ctx.configDir,
    );
    crdSource = await readChartSource(helm, crdRef, 'karpenter-crd', crdStep?.chartVersion ?? crdVersion);
    ctrlSource = await readChartSource(helm, ctrlRef, 'karpenter', ctrlStep?.chartVersion ?? ctrlVersion);
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    // A mirror or local copy without the version this step needs: the route is still shown.
    findings.push({
      level: 'error',
      code: 'chart-unavailable',
      message: e.message,
      fix: [
        ...e.details,
        'or point karpenter.chartRepository at a repository with every version of the route',
      ].join('; '),
      source: c.source,
    });
    return { stage: 'install', changes, findings, notes };
  }

  const irsaRoleArn =
    c.prereqs.identity === 'irsa'
      ? `arn:${eks?.arn?.split(':')[1] ?? 'aws'}:iam::${eks?.arn?.split(':')[4] ?? ''}:role/${c.prereqs.controllerRoleName}`
      : undefined;
  const nodeGroups = c.install.migration.enabled ? await readNodeGroupNames(ctx) : undefined;
  if (nodeGroups) findings.push(...(await checkNodeGroupZones(ctx, nodeGroups)));
  const values = withStepValues(
    buildChartValues({
      cluster: c,
      ...(irsaRoleArn ? { irsaRoleArn } : {}),
      ...(nodeGroups ? { nodeGroups } : {}),
    }),
    ctrlStep,
  );
  const chartValues = parseYaml(await readChartValues(helm, { chart: ctrlSource.path })) as Record<
    string,
    unknown
  >;
  const valueIssues = checkValuesKeys(c.install.values, c.install.valuesLines, chartValues, {
    file: c.source.file,
    chart: `karpenter ${ctrlVersion}`,
  });
  for (const i of valueIssues) {
    findings.push({
      level: 'error',
      code: 'chart-value-unknown',
      message: `${i.field}: ${i.message}`,
      ...(i.fix ? { fix: i.fix } : {}),
      source: { file: i.file, line: i.line ?? c.source.line },
    });
  }
  if (valueIssues.length > 0) return { stage: 'install', changes, findings, notes };

  const preSteps = now
    .filter((x) => x.action !== 'upgrade-crds' && x.action !== 'upgrade-controller')
    .map((x) => buildPreStep(ctx, x));
  const releaseChanges: Change[] = [];

  const discovery = new KubeDiscovery(ctx.kube.http);
  const crdObjects = parseRendered(
    await templateChart(
      helm,
      { chart: crdSource.path },
      {
        release: CRD_RELEASE,
        namespace,
        values: withStepValues({}, crdStep),
      },
    ),
  );
  let ctrlRendered: string;
  try {
    ctrlRendered = await templateChart(
      helm,
      { chart: ctrlSource.path },
      { release: CONTROLLER_RELEASE, namespace, values },
    );
  } catch (e) {
    const refusal = readChartRefusal(e);
    if (!refusal) throw e;
    findings.push(buildChartRefusal(c, ctrlVersion, refusal));
    return { stage: 'install', changes, findings, notes };
  }
  const ctrlObjects = parseRendered(ctrlRendered);
  const plans: ReleasePlan[] = [];
  for (const [release, source, objects, vals, skipCrds] of [
    [CRD_RELEASE, crdSource, crdObjects, withStepValues({}, crdStep), false],
    [CONTROLLER_RELEASE, ctrlSource, ctrlObjects, values, true],
  ] as const) {
    const diff = await diffObjects(ctx.kube, discovery, objects, namespace, release);
    findings.push(...diff.findings);
    const covered = new Set(preSteps.flatMap((x) => x.covers));
    const adopt = diff.unowned.filter((u) => !covered.has(objectKey(u.obj)));
    if (adopt.length > 0)
      preSteps.push(
        buildAdoption(
          ctx,
          release,
          namespace,
          adopt,
          diff.secrets.filter((u) => !covered.has(objectKey(u.obj))),
        ),
      );
    const live = installed.releases.find((r) => r.name === release && r.namespace === namespace);
    const objectsChanged = diff.changes.some((x) => x.action !== 'no-op');
    const rc = releaseChange(namespace, release, source, live, objectsChanged);
    const secretChanges = diff.secrets.map((x) => secretChange(x.obj, release, rc.action));
    diff.changes.push(...secretChanges);
    releaseChanges.push(rc, ...diff.changes);
    plans.push({
      release,
      source,
      values: vals,
      skipCrds,
      changed: rc.action !== 'no-op',
      refs: [rc.ref, ...diff.changes.map((x) => x.ref)],
      crdNames: objects
        .filter((o) => o.kind === 'CustomResourceDefinition')
        .map((o) => String(o.metadata?.name)),
    });
  }
  const migration = c.install.migration.enabled ? await planMigration(ctx) : [];
  changes.push(...preSteps.map((x) => x.change), ...releaseChanges, ...migration.map((m) => m.change));
  const records: Omit<ReleaseRecords, 'history'>[] = [
    ...plans
      .filter((p) => p.changed)
      .map((p) => ({ name: p.release, namespace, use: 'upgrade' as const, chart: p.source.name })),
    ...now.flatMap((x): Omit<ReleaseRecords, 'history'>[] => {
      const use: ReleaseRecords['use'] | undefined =
        x.action === 'uninstall-release' ? 'uninstall' : x.action === 'forget-release' ? 'forget' : undefined;
      const r = use && x.release ? installed.releases.find((i) => sameRelease(i, x.release!)) : undefined;
      return use && r ? [{ name: r.name, namespace: r.namespace, use, chart: r.chart }] : [];
    }),
  ];
  notes.push(
    `Charts pinned for apply: ${plans.map((p) => `${p.source.name} ${p.source.version} ${p.source.digest} (${describeOrigin(p.source)})`).join('; ')}`,
  );
  if (records.length > 0)
    notes.push(
      `Helm's release records are not read by the plan (it reads no Secret); apply checks them for ${records.map((r) => `${r.namespace}/${r.name}`).join(', ')} before its first write and stops if an operation is pending or a release is another chart's`,
    );
  ctx.desired = { helm, namespace, releases: plans, migration, preSteps, records };
  return { stage: 'install', changes, findings, notes };
}

const sameRelease = (r: HelmRelease, x: { name: string; namespace: string }): boolean =>
  r.name === x.name && r.namespace === x.namespace;

function describeOrigin(s: ChartSource): string {
  switch (s.kind) {
    case 'local':
      return `content hash of ${s.origin}`;
    case 'oci':
      return `OCI manifest digest of ${s.origin}`;
    case 'repository':
      return `archive sha256 of ${s.origin}`;
  }
}

/** A step's `--set` values (dotted keys) merged into the chart values. */
function withStepValues(
  values: Record<string, unknown>,
  step: RouteStep | undefined,
): Record<string, unknown> {
  const out = structuredClone(values);
  for (const [dotted, v] of Object.entries(step?.values ?? {})) {
    const keys = dotted.split('.');
    let node = out;
    for (const k of keys.slice(0, -1)) {
      const next = node[k];
      node = (node[k] = typeof next === 'object' && next !== null ? next : {}) as Record<string, unknown>;
    }
    node[keys.at(-1)!] = v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v;
  }
  return out;
}

/**
 * A route step that prepares the releases: adopt (Helm ownership metadata merged into existing
 * objects, so `helm upgrade --install` takes them over), forget a release (its Helm records deleted,
 * never its objects), uninstall a release whose objects the new release replaces, or delete stale
 * objects by uid. Each is one change in the plan.
 */
function buildPreStep(ctx: InstallContext, step: RouteStep): PreStep {
  const change: Change = {
    ref: `route:${step.id}`,
    stage: 'install',
    kind: 'Upgrade step',
    name: step.id,
    action: step.action === 'adopt' ? 'update' : 'delete',
    ...(step.objects.length > 0
      ? { before: step.objects.map((o) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`) }
      : step.action === 'forget-release' && step.release && step.labelSelector
        ? {
            before: [
              `Secrets ${step.release.namespace}/${step.labelSelector} (Helm's records of the release)`,
            ],
          }
        : {}),
    ...(step.metadata ? { after: step.metadata } : {}),
    fieldChanges: [],
    reason: step.description,
  };
  const discovery = new KubeDiscovery(ctx.kube.http);
  const run = async (helm: HelmReleases): Promise<void> => {
    switch (step.action) {
      case 'adopt':
        for (const o of step.objects) {
          const res = await discovery.resolve(o.apiVersion, o.kind);
          if (!res) throw new Error(`${o.kind} is not served by the cluster`);
          await ctx.kube.http.request('PATCH', resourcePath(res, o.namespace, o.name), {
            contentType: 'application/merge-patch+json',
            body: { metadata: step.metadata ?? {} },
          });
        }
        return;
      case 'forget-release': {
        if (!step.release || !step.labelSelector) return;
        const records = await ctx.kube.list(SECRETS, {
          namespace: step.release.namespace,
          labelSelector: step.labelSelector,
        });
        for (const r of records)
          await ctx.kube.delete(SECRETS, String(r.metadata?.name), {
            namespace: step.release.namespace,
            ...(r.metadata?.uid ? { uid: r.metadata.uid } : {}),
          });
        return;
      }
      case 'delete':
        for (const o of step.objects) {
          const res = await discovery.resolve(o.apiVersion, o.kind);
          if (!res) continue;
          await ctx.kube.delete(res, o.name, {
            ...(o.namespace ? { namespace: o.namespace } : {}),
            ...(o.uid ? { uid: o.uid } : {}),
          });
        }
        return;
      case 'uninstall-release':
        if (step.release) await helm.uninstall(step.release.name, step.release.namespace, { wait: false });
        return;
      case 'upgrade-crds':
      case 'upgrade-controller':
        return;
    }
  };
  return { change, covers: step.objects.map((o) => keyOf(o.kind, o.namespace, o.name)), run };
}

/**
 * Objects of a chart that exist without that release's Helm ownership (a `helm template | kubectl
 * apply` install, or leftovers of another release): their ownership metadata is set first, so `helm
 * upgrade --install` takes them over in place instead of failing on "invalid ownership metadata".
 */
function buildAdoption(
  ctx: InstallContext,
  release: string,
  namespace: string,
  objects: { res: KubeResource; obj: KubeObject }[],
  secrets: { res: KubeResource; obj: KubeObject }[],
): PreStep {
  const metadata = {
    labels: { [HELM_MANAGED_BY]: 'Helm' },
    annotations: { [HELM_RELEASE_NAME]: release, [HELM_RELEASE_NAMESPACE]: namespace },
  };
  const covers = [...objects, ...secrets].map((o) => objectKey(o.obj));
  return {
    change: {
      ref: `route:adopt-into-${release}`,
      stage: 'install',
      kind: 'Upgrade step',
      name: `adopt-into-${release}`,
      action: 'update',
      before: [
        ...objects.map((o) => objectKey(o.obj)),
        ...secrets.map((o) => `${objectKey(o.obj)} (if it exists: the plan reads no Secret)`),
      ],
      after: metadata,
      fieldChanges: [],
      reason: `these objects exist without the ${release} release's Helm ownership; it is set so helm takes them over in place, nothing is deleted`,
    },
    covers,
    run: async () => {
      for (const o of objects) {
        await ctx.kube.http.request(
          'PATCH',
          resourcePath(o.res, o.obj.metadata?.namespace, String(o.obj.metadata?.name)),
          { contentType: 'application/merge-patch+json', body: { metadata } },
        );
      }
      for (const o of secrets) {
        try {
          await ctx.kube.http.request(
            'PATCH',
            resourcePath(o.res, o.obj.metadata?.namespace, String(o.obj.metadata?.name)),
            { contentType: 'application/merge-patch+json', body: { metadata } },
          );
        } catch (e) {
          if (!(e instanceof KubeApiError && e.code === 404)) throw e;
        }
      }
    },
  };
}

/**
 * Pinned to the node groups, the controller's two replicas (spread across zones by the chart's
 * topology constraint) need those groups' nodes in at least two zones, or one replica stays pending.
 */
async function checkNodeGroupZones(ctx: InstallContext, nodeGroups: string[]): Promise<Finding[]> {
  const zones = new Set<string>();
  for (const n of await ctx.kube.list(NODES)) {
    const labels = n.metadata?.labels ?? {};
    const ng = labels[NODEGROUP_LABEL];
    const zone = labels['topology.kubernetes.io/zone'];
    if (ng && nodeGroups.includes(ng) && zone) zones.add(zone);
  }
  if (zones.size >= 2) return [];
  return [
    {
      level: 'warning',
      code: 'controller-zones',
      message: `the controller is pinned to node groups ${nodeGroups.join(', ') || '(none)'}, whose nodes are in ${zones.size === 0 ? 'no zone' : `only ${[...zones].join(', ')}`}; its replicas spread across zones, so one of them will not schedule`,
      fix: 'give the node groups nodes in at least two availability zones before the migration',
    },
  ];
}

async function readNodeGroupNames(ctx: InstallContext): Promise<string[]> {
  const names: string[] = [];
  let next: string | undefined;
  do {
    const page = await ctx.aws.eks.send(
      new ListNodegroupsCommand({ clusterName: ctx.cluster.cluster, nextToken: next }),
    );
    names.push(...(page.nodegroups ?? []));
    next = page.nextToken;
  } while (next);
  return names;
}

/** Waits, by watching, until each CRD reports Established. */
async function waitEstablished(kube: KubePort, names: string[], timeoutSeconds: number): Promise<void> {
  for (const name of names) {
    const r = await watchUntil(
      kube,
      CRDS,
      { name },
      (crd) => conditionOf(crd, 'Established')?.status === 'True',
      timeoutSeconds * 1000,
    );
    if (!r.ok) throw new Error(`CRD ${name} is not Established after ${timeoutSeconds} s`);
  }
}

/** What "verified" means before the migration touches Cluster Autoscaler: the controller available at the target version. */
export function evaluateControllerReady(d: KubeObject | undefined, version: string): string | undefined {
  if (!d) return 'the karpenter Deployment does not exist';
  const spec = d.spec as
    | { replicas?: number; template?: { spec?: { containers?: { name?: string; image?: string }[] } } }
    | undefined;
  const status = (d.status ?? {}) as {
    observedGeneration?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
  };
  const generation = (d.metadata as { generation?: number } | undefined)?.generation ?? 0;
  const want = spec?.replicas ?? 1;
  const image = spec?.template?.spec?.containers?.find((x) => x.name === 'controller')?.image ?? '';
  if (!image.includes(`:${version}`)) return `the controller image is ${image}, not ${version}`;
  if ((status.observedGeneration ?? 0) < generation)
    return 'the Deployment controller has not seen the latest change yet';
  if ((status.updatedReplicas ?? 0) < want)
    return `${status.updatedReplicas ?? 0} of ${want} replicas are updated`;
  if ((status.availableReplicas ?? 0) < want)
    return `${status.availableReplicas ?? 0} of ${want} replicas are available`;
  return undefined;
}

type MigrationStep = { change: Change; run: () => Promise<void> };

/** A migration change: a no-op when nothing differs, else an update carried out by `run` after verification. */
function migrationStep(
  base: Pick<Change, 'ref' | 'stage' | 'kind' | 'name'>,
  before: unknown,
  after: unknown,
  fieldChanges: FieldChange[],
  [doneReason, changeReason]: [string, string],
  run: () => Promise<void>,
): MigrationStep {
  if (fieldChanges.length === 0)
    return {
      change: { ...base, action: 'no-op', fieldChanges: [], reason: doneReason },
      run: () => Promise.resolve(),
    };
  return { change: { ...base, action: 'update', before, after, fieldChanges, reason: changeReason }, run };
}

/**
 * The move off Cluster Autoscaler, as the migration guide's last steps: its Deployment scaled to zero
 * and, when configured, the node groups shrunk. Each is its own planned change; apply carries them out
 * only after the Karpenter controller is available at the target version.
 */
async function planMigration(ctx: InstallContext): Promise<MigrationStep[]> {
  const c = ctx.cluster;
  const out: MigrationStep[] = [];
  const after = `after Karpenter ${c.karpenter.version} is verified`;
  for (const d of await ctx.kube.list(DEPLOYMENTS)) {
    if (!isClusterAutoscaler(d)) continue;
    const ns = d.metadata?.namespace ?? 'default';
    const name = d.metadata?.name ?? '';
    const replicas = (d.spec as { replicas?: number } | undefined)?.replicas ?? 1;
    const base = {
      ref: `k8s:apps/v1/Deployment/${ns}/${name}#replicas`,
      stage: 'install' as const,
      kind: 'Cluster Autoscaler',
      name: `${ns}/${name}`,
    };
    out.push(
      migrationStep(
        base,
        { replicas },
        { replicas: 0 },
        replicas === 0 ? [] : [{ path: 'spec.replicas', op: 'change', before: replicas, after: 0 }],
        [
          'scaled to zero',
          `scaled to zero ${after}, so the two autoscalers do not act on the same pending pods`,
        ],
        async () => {
          await ctx.kube.http.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/${name}/scale`, {
            contentType: 'application/merge-patch+json',
            body: { spec: { replicas: 0 } },
          });
        },
      ),
    );
  }
  for (const [ng, want] of Object.entries(c.install.migration.nodeGroups)) {
    const cur = (
      await ctx.aws.eks.send(new DescribeNodegroupCommand({ clusterName: c.cluster, nodegroupName: ng }))
    ).nodegroup?.scalingConfig;
    const before = { minSize: cur?.minSize, maxSize: cur?.maxSize, desiredSize: cur?.desiredSize };
    const base = {
      ref: `aws:eks:nodegroup/${c.cluster}/${ng}#scaling`,
      stage: 'install' as const,
      kind: 'EKS node group scaling',
      name: ng,
    };
    out.push(
      migrationStep(
        base,
        before,
        want,
        diffFields(before, want),
        ['scaled as configured', `shrunk ${after}; Karpenter launches the capacity instead`],
        async () => {
          await ctx.aws.eks.send(
            new UpdateNodegroupConfigCommand({
              clusterName: c.cluster,
              nodegroupName: ng,
              scalingConfig: want,
            }),
          );
        },
      ),
    );
  }
  return out;
}

async function checkReleaseRecords(d: InstallDesired, releases: HelmReleases): Promise<void> {
  const histories = await Promise.all(d.records.map((r) => releases.history(r.name, r.namespace)));
  const refusal = evaluateReleaseRecords(d.records.map((r, i) => ({ ...r, history: histories[i] ?? [] })));
  if (refusal) throw refusal;
  for (const r of d.releases) if (r.changed) await verifyChartSource(r.source);
}

/**
 * What the install stage's apply checks before any write, callable before the apply's first stage so
 * that a refusal leaves every stage untouched: Helm's release records (which the plan does not read)
 * and the pinned chart copies. A no-op without a plan from this run or with nothing to install.
 */
export async function checkInstallApply(ctx: InstallContext): Promise<void> {
  const d = ctx.desired;
  if (!d || (d.records.length === 0 && !d.releases.some((r) => r.changed))) return;
  await using releases = await HelmReleases.open(d.helm.path, ctx.kube.http.kubeConfig, {
    log: ctx.log,
    signal: ctx.kube.http.signal,
  });
  await checkReleaseRecords(d, releases);
}

/**
 * CRDs first, through their own release, waited for until Established; then the controller release
 * with CRDs skipped. Each release is one `helm upgrade --install` of the chart copy the plan rendered
 * and pinned by digest, so `helm history` and `helm rollback` work as they would for a person. Before
 * the first write, Helm's release records (which the plan does not read) and the chart copies are
 * checked; either refusing leaves the cluster untouched.
 */
async function applyInstall(ctx: InstallContext, plan: StagePlan): Promise<StageResult> {
  const d = ctx.desired;
  const results: AppliedChange[] = [];
  if (!d) throw new Error('install: apply without a plan from this run');
  await using releases = await HelmReleases.open(d.helm.path, ctx.kube.http.kubeConfig, {
    log: ctx.log,
    signal: ctx.kube.http.signal,
  });
  await checkReleaseRecords(d, releases);
  for (const p of d.preSteps) {
    try {
      await p.run(releases);
      results.push({ ref: p.change.ref, action: p.change.action, outcome: 'done' });
    } catch (e) {
      results.push({
        ref: p.change.ref,
        action: p.change.action,
        outcome: 'failed',
        message: (e as Error).message,
      });
      return { stage: 'install', changes: results, ok: false };
    }
  }
  for (const r of d.releases) {
    const mine = plan.changes.filter((c) => r.refs.includes(c.ref));
    if (!r.changed) continue;
    try {
      await verifyChartSource(r.source);
      ctx.log.info(
        `installing ${r.source.name} ${r.source.version} ${shortDigest(r.source.digest)} as ${r.release}`,
      );
      await releases.upgradeInstall({
        release: r.release,
        chart: r.source.path,
        namespace: d.namespace,
        createNamespace: true,
        values: r.values,
        skipCrds: r.skipCrds,
        wait: false,
        timeoutSeconds: 300,
      });
      if (r.crdNames.length > 0)
        await waitEstablished(ctx.kube, r.crdNames, ctx.cluster.install.timeoutSeconds);
      for (const c of mine)
        if (c.action !== 'no-op') results.push({ ref: c.ref, action: c.action, outcome: 'done' });
    } catch (e) {
      results.push({
        ref: releaseRef(d.namespace, r.release),
        action: 'update',
        outcome: 'failed',
        message: (e as Error).message,
      });
      break;
    }
  }
  const pending = d.migration.filter((m) => m.change.action !== 'no-op');
  if (pending.length > 0 && results.every((r) => r.outcome !== 'failed')) {
    const version = ctx.cluster.karpenter.version;
    const seen = await watchUntil(
      ctx.kube,
      DEPLOYMENTS,
      { name: CONTROLLER_RELEASE, namespace: d.namespace },
      (dep) => evaluateControllerReady(dep, version) === undefined,
      ctx.cluster.install.timeoutSeconds * 1000,
    );
    const why = seen.ok ? undefined : evaluateControllerReady(seen.last, version);
    for (const m of pending) {
      if (why) {
        results.push({
          ref: m.change.ref,
          action: m.change.action,
          outcome: 'failed',
          message: `not done: Karpenter is not verified after ${ctx.cluster.install.timeoutSeconds} s (${why}); Cluster Autoscaler keeps running`,
        });
        continue;
      }
      try {
        await m.run();
        results.push({ ref: m.change.ref, action: m.change.action, outcome: 'done' });
      } catch (e) {
        results.push({
          ref: m.change.ref,
          action: m.change.action,
          outcome: 'failed',
          message: (e as Error).message,
        });
        break;
      }
    }
  }
  return { stage: 'install', changes: results, ok: results.every((r) => r.outcome !== 'failed') };
}

export const installStage: Stage<InstallContext> = {
  name: 'install',
  plan: planInstall,
  apply: applyInstall,
};
