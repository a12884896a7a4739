import { CRDS, DEPLOYMENTS } from '../adapters/kube-resources.ts';
import type { KubeObject, KubePort, KubeResource } from '../adapters/kube.ts';
import { describeError } from '../errors.ts';
import { parseRelease } from '../util/release.ts';

/** How Karpenter got into the cluster: not at all, through Helm releases, or as applied manifests (`helm template | kubectl apply`). */
export type InstallKind = 'none' | 'helm' | 'manifests';

/**
 * The era of the installed Karpenter, which decides the upgrade route: `0.3x` is every pre-1.0
 * release (v1beta1 and the older v1alpha5 APIs), `1.0.x` serves v1 and v1beta1 through conversion
 * webhooks, `1.x` (1.1 and later) serves v1 only.
 */
export type VersionFamily = 'none' | '0.3x' | '1.0.x' | '1.x';

/** Helm's ownership metadata on one object: what `helm upgrade --install` checks before it adopts an existing object. */
export interface HelmOwnership {
  /** Label `app.kubernetes.io/managed-by`. */
  managedBy?: string;
  /** Annotation `meta.helm.sh/release-name`. */
  releaseName?: string;
  /** Annotation `meta.helm.sh/release-namespace`. */
  releaseNamespace?: string;
  /** Annotation `helm.sh/resource-policy` on the live object (Helm's uninstall reads it from the release manifest, not from here). */
  resourcePolicy?: string;
}

/** A Karpenter controller Deployment as found in the cluster. */
export interface ControllerDeployment {
  namespace: string;
  name: string;
  uid?: string;
  /** Without a `v` prefix; undefined when neither the label nor the image tag tells. */
  version?: string;
  versionSource?: 'label' | 'image';
  image?: string;
  replicas: number;
  /** Labelled `app.kubernetes.io/managed-by: Helm` or annotated with a Helm release. */
  helmManaged: boolean;
  helm: HelmOwnership;
  /** The chart's own label `helm.sh/chart` (`karpenter-1.14.1`), which names the chart and its version. */
  chartLabel?: string;
}

/**
 * A Helm release of the karpenter or karpenter-crd chart, as its live objects show it: Helm annotates
 * every object it installs with the release's name and namespace, and the karpenter chart labels its
 * objects with `helm.sh/chart`. Helm's release records (Secrets) are never read, so the revision and
 * its status are not known here; the install stage's apply reads them (see docs/adr/0007).
 */
export interface HelmRelease {
  name: string;
  namespace: string;
  chart: 'karpenter' | 'karpenter-crd';
  /** From `helm.sh/chart`; the karpenter-crd chart labels nothing with it, so it is unknown for that chart. */
  chartVersion?: string;
  appVersion?: string;
  /** Karpenter CRDs annotated with this release: Helm renders them as templates, and `helm uninstall` deletes them. */
  templatedCrds: string[];
  /** The objects the release was recognised by (`Kind namespace/name`). */
  objects: string[];
}

/** The conversion stanza of a CRD (`spec.conversion`), when it is a webhook. */
export interface CrdConversionWebhook {
  service?: { namespace: string; name: string; port?: number; path?: string };
  url?: string;
}

/** One Karpenter CRD as found in the cluster. */
export interface KarpenterCrd {
  name: string;
  kind: string;
  uid?: string;
  /** A pre-v1beta1 (v1alpha5) API: Provisioner, Machine, AWSNodeTemplate. */
  legacy: boolean;
  /** Part of the v1beta1 → v1 migration: storedVersions must be exactly [v1] before 1.1. */
  v1Migration: boolean;
  servedVersions: string[];
  storageVersion?: string;
  storedVersions: string[];
  conversionWebhook?: CrdConversionWebhook;
  established: boolean;
  helm: HelmOwnership;
}

/** A NodePool, EC2NodeClass or NodeClaim that still carries v1beta1 compatibility annotations. */
export interface CompatibilityAnnotated {
  kind: string;
  name: string;
  /** Only the `compatibility.karpenter.*` annotations. */
  annotations: Record<string, string>;
}

/** A NodePool or NodeClaim whose nodeClassRef lacks `group` or `kind`, which 1.1 requires. */
export interface IncompleteNodeClassRef {
  kind: string;
  name: string;
  missing: ('group' | 'kind')[];
}

/** A Validating/MutatingWebhookConfiguration of Karpenter's; none is current since 1.0, so each is stale once 1.0 runs. */
export interface KarpenterWebhookConfiguration {
  kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration';
  name: string;
  uid?: string;
  /** One of the names the v1 migration guide tells users to delete. */
  documented: boolean;
  services: { namespace: string; name: string }[];
  helm: HelmOwnership;
}

/** Everything the install stage needs to know about Karpenter in a cluster before it plans. */
export interface InstalledKarpenter {
  kind: InstallKind;
  family: VersionFamily;
  /** The installed version without a `v` prefix, when it can be told. */
  version?: string;
  versionSource?: 'deployment-label' | 'deployment-image' | 'helm-release' | 'crd-release';
  /** For `helm`: the controller chart's release, or the CRD chart's when there is no controller release. */
  release?: { name: string; namespace: string };
  controllers: ControllerDeployment[];
  /** Releases of the `karpenter` and `karpenter-crd` charts. */
  releases: HelmRelease[];
  crds: KarpenterCrd[];
  compatibilityAnnotations: CompatibilityAnnotated[];
  incompleteNodeClassRefs: IncompleteNodeClassRef[];
  webhookConfigurations: KarpenterWebhookConfiguration[];
  /** What could not be read (for example a list that needs a conversion webhook nobody serves), with the error. */
  unreadable: Unreadable[];
}

/** Something detection could not read: NodePools, EC2NodeClasses or NodeClaims, whose state the 1.1 checks need. */
export interface Unreadable {
  scope: 'objects';
  what: string;
  error: string;
}

/** A CRD Karpenter has shipped, and what detection does with it. */
export interface CrdDefinition {
  name: string;
  kind: string;
  plural: string;
  group: string;
  legacy: boolean;
  v1Migration: boolean;
  /** Listed for compatibility annotations and nodeClassRefs. */
  scanned: boolean;
}

/**
 * The CRDs Karpenter has shipped: the v1 set (NodeOverlay since 1.8, CapacityBuffer in the 1.14 CRD
 * chart) and the v1alpha5 ones dropped in 0.33.
 */
export const KARPENTER_CRDS: readonly CrdDefinition[] = [
  crd('nodepools.karpenter.sh', 'NodePool', { v1Migration: true, scanned: true }),
  crd('nodeclaims.karpenter.sh', 'NodeClaim', { v1Migration: true, scanned: true }),
  crd('ec2nodeclasses.karpenter.k8s.aws', 'EC2NodeClass', { v1Migration: true, scanned: true }),
  crd('nodeoverlays.karpenter.sh', 'NodeOverlay', {}),
  crd('capacitybuffers.autoscaling.x-k8s.io', 'CapacityBuffer', {}),
  crd('provisioners.karpenter.sh', 'Provisioner', { legacy: true }),
  crd('machines.karpenter.sh', 'Machine', { legacy: true }),
  crd('awsnodetemplates.karpenter.k8s.aws', 'AWSNodeTemplate', { legacy: true }),
];

function crd(
  name: string,
  kind: string,
  f: { legacy?: boolean; v1Migration?: boolean; scanned?: boolean },
): CrdDefinition {
  const dot = name.indexOf('.');
  return {
    name,
    kind,
    plural: name.slice(0, dot),
    group: name.slice(dot + 1),
    legacy: f.legacy ?? false,
    v1Migration: f.v1Migration ?? false,
    scanned: f.scanned ?? false,
  };
}

/** Webhook configurations the v1 migration guide names as left behind by 0.3x installs. */
export const DOCUMENTED_STALE_WEBHOOKS: readonly string[] = [
  'defaulting.webhook.karpenter.k8s.aws',
  'validation.webhook.karpenter.sh',
  'validation.webhook.config.karpenter.sh',
  'validation.webhook.karpenter.k8s.aws',
];

/** Helm's ownership keys; an object with all three pointing at a release is adopted by `helm upgrade --install`. */
export const HELM_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const HELM_RELEASE_NAME = 'meta.helm.sh/release-name';
export const HELM_RELEASE_NAMESPACE = 'meta.helm.sh/release-namespace';
export const HELM_RESOURCE_POLICY = 'helm.sh/resource-policy';

export const COMPATIBILITY_ANNOTATION_PREFIX = 'compatibility.karpenter.';

/** The karpenter chart's label naming the chart and its version. */
export const HELM_CHART_LABEL = 'helm.sh/chart';

const WEBHOOK_KINDS = ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const;
const webhookResource = (kind: (typeof WEBHOOK_KINDS)[number]): KubeResource => ({
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  plural: `${kind.toLowerCase()}s`,
  kind,
  namespaced: false,
});

type Json = Record<string, unknown>;
const byKey =
  <T>(key: (x: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const asMap = (v: unknown): Json => (isMap(v) ? v : {});
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const VERSION = /^v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)$/;

/** A Karpenter version without its `v` prefix, or undefined for anything that is not one (`latest`, a digest). */
export function normalizeVersion(raw: string | undefined): string | undefined {
  const m = raw ? VERSION.exec(raw.trim()) : null;
  return m?.[1];
}

/**
 * The tag of an image reference: `public.ecr.aws/karpenter/controller:1.14.1@sha256:…` gives
 * `1.14.1`; a registry port (`host:5000/…`) is not a tag, and a digest-only reference has none.
 */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon >= 0 ? withoutDigest.slice(colon + 1) : undefined;
}

function ownership(obj: KubeObject): HelmOwnership {
  const labels = obj.metadata?.labels ?? {};
  const annotations = obj.metadata?.annotations ?? {};
  const out: HelmOwnership = {};
  if (labels[HELM_MANAGED_BY]) out.managedBy = labels[HELM_MANAGED_BY];
  if (annotations[HELM_RELEASE_NAME]) out.releaseName = annotations[HELM_RELEASE_NAME];
  if (annotations[HELM_RELEASE_NAMESPACE]) out.releaseNamespace = annotations[HELM_RELEASE_NAMESPACE];
  if (annotations[HELM_RESOURCE_POLICY]) out.resourcePolicy = annotations[HELM_RESOURCE_POLICY];
  return out;
}

function buildController(obj: KubeObject): ControllerDeployment {
  const spec = asMap(obj.spec);
  const containers = asList(asMap(asMap(asMap(spec.template).spec)).containers).map(asMap);
  const container =
    containers.find((c) => c.name === 'controller') ??
    containers.find((c) => asString(c.image)?.includes('karpenter')) ??
    containers[0];
  const image = asString(container?.image);
  const fromLabel = normalizeVersion(obj.metadata?.labels?.['app.kubernetes.io/version']);
  const fromImage = image ? normalizeVersion(imageTag(image)) : undefined;
  const helm = ownership(obj);
  const out: ControllerDeployment = {
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    replicas: typeof spec.replicas === 'number' ? spec.replicas : 1,
    helmManaged: helm.managedBy === 'Helm' || helm.releaseName !== undefined,
    helm,
  };
  const chartLabel = obj.metadata?.labels?.[HELM_CHART_LABEL];
  if (chartLabel) out.chartLabel = chartLabel;
  if (obj.metadata?.uid) out.uid = obj.metadata.uid;
  if (image) out.image = image;
  if (fromLabel) {
    out.version = fromLabel;
    out.versionSource = 'label';
  } else if (fromImage) {
    out.version = fromImage;
    out.versionSource = 'image';
  }
  return out;
}

const isController = (obj: KubeObject): boolean =>
  obj.metadata?.labels?.['app.kubernetes.io/name'] === 'karpenter' || obj.metadata?.name === 'karpenter';

async function readControllers(kube: KubePort): Promise<ControllerDeployment[]> {
  const all = await kube.list(DEPLOYMENTS);
  return all
    .filter(isController)
    .map(buildController)
    .sort(byKey((c) => `${c.namespace}\0${c.name}`));
}

/** `karpenter-1.14.1` (or `karpenter-v0.34.0`) split into the chart's name and version; `+` is written `_` in labels. */
export function parseChartLabel(label: string | undefined): { name: string; version: string } | undefined {
  const m = label ? /^(.+?)-(v?\d+\.\d+\.\d+(?:[-_][0-9A-Za-z._-]+)?)$/.exec(label.trim()) : null;
  return m ? { name: m[1]!, version: m[2]!.replace(/_/g, '+') } : undefined;
}

/**
 * The karpenter and karpenter-crd releases, from the objects that carry Helm's release annotations:
 * controller Deployments (whose `helm.sh/chart` label names the chart and its version) and Karpenter
 * CRDs. A release whose objects are CRDs only is the karpenter-crd chart's; one whose controller is
 * labelled with another chart is not Karpenter's. Pure, so each shape is tested without a cluster.
 */
export function buildReleasesFromObjects(
  controllers: readonly ControllerDeployment[],
  crds: readonly KarpenterCrd[],
): HelmRelease[] {
  interface Group {
    name: string;
    namespace: string;
    controllers: ControllerDeployment[];
    crds: KarpenterCrd[];
  }
  const groups = new Map<string, Group>();
  const group = (h: HelmOwnership): Group | undefined => {
    if (!h.releaseName || !h.releaseNamespace) return undefined;
    const key = `${h.releaseNamespace}/${h.releaseName}`;
    let g = groups.get(key);
    if (!g) {
      g = { name: h.releaseName, namespace: h.releaseNamespace, controllers: [], crds: [] };
      groups.set(key, g);
    }
    return g;
  };
  for (const c of controllers) group(c.helm)?.controllers.push(c);
  for (const c of crds) group(c.helm)?.crds.push(c);
  const out: HelmRelease[] = [];
  for (const g of groups.values()) {
    const labelled = g.controllers.map((c) => parseChartLabel(c.chartLabel)).find((l) => l !== undefined);
    let chart: HelmRelease['chart'];
    if (labelled) {
      if (labelled.name !== 'karpenter' && labelled.name !== 'karpenter-crd') continue;
      chart = labelled.name;
    } else if (g.controllers.length > 0) chart = 'karpenter';
    else chart = 'karpenter-crd';
    const release: HelmRelease = {
      name: g.name,
      namespace: g.namespace,
      chart,
      templatedCrds: g.crds.map((c) => c.name).sort(),
      objects: [
        ...g.controllers.map((c) => `Deployment ${c.namespace}/${c.name}`),
        ...g.crds.map((c) => `CustomResourceDefinition ${c.name}`),
      ].sort(),
    };
    if (labelled) release.chartVersion = labelled.version;
    const appVersion = g.controllers.find((c) => c.versionSource === 'label')?.version;
    if (appVersion) release.appVersion = appVersion;
    out.push(release);
  }
  return out.sort(byKey((r) => `${r.chart}\0${r.namespace}\0${r.name}`));
}

function buildCrd(def: CrdDefinition, obj: KubeObject): KarpenterCrd {
  const spec = asMap(obj.spec);
  const status = asMap(obj.status);
  const versions = asList(spec.versions).map(asMap);
  const out: KarpenterCrd = {
    name: def.name,
    kind: def.kind,
    legacy: def.legacy,
    v1Migration: def.v1Migration,
    servedVersions: versions.filter((v) => v.served === true).map((v) => String(v.name)),
    storedVersions: asList(status.storedVersions).map(String),
    established: asList(status.conditions)
      .map(asMap)
      .some((c) => c.type === 'Established' && c.status === 'True'),
    helm: ownership(obj),
  };
  if (obj.metadata?.uid) out.uid = obj.metadata.uid;
  const storage = versions.find((v) => v.storage === true);
  if (storage) out.storageVersion = String(storage.name);
  const conversion = asMap(spec.conversion);
  if (conversion.strategy === 'Webhook') {
    const clientConfig = asMap(asMap(conversion.webhook).clientConfig);
    const service = asMap(clientConfig.service);
    const hook: CrdConversionWebhook = {};
    if (asString(service.name)) {
      hook.service = { namespace: asString(service.namespace) ?? '', name: String(service.name) };
      if (typeof service.port === 'number') hook.service.port = service.port;
      if (asString(service.path)) hook.service.path = String(service.path);
    }
    if (asString(clientConfig.url)) hook.url = String(clientConfig.url);
    out.conversionWebhook = hook;
  }
  return out;
}

async function readCrds(kube: KubePort): Promise<KarpenterCrd[]> {
  const found = await Promise.all(
    KARPENTER_CRDS.map(async (def) => {
      const obj = await kube.get(CRDS, def.name);
      return obj ? buildCrd(def, obj) : undefined;
    }),
  );
  return found.filter((c): c is KarpenterCrd => c !== undefined);
}

function compatibilityAnnotations(obj: KubeObject): Record<string, string> {
  return Object.fromEntries(
    Object.entries(obj.metadata?.annotations ?? {}).filter(([k]) =>
      k.startsWith(COMPATIBILITY_ANNOTATION_PREFIX),
    ),
  );
}

function missingRefFields(kind: string, obj: KubeObject): ('group' | 'kind')[] {
  const spec = asMap(obj.spec);
  const ref = asMap(kind === 'NodePool' ? asMap(asMap(spec.template).spec).nodeClassRef : spec.nodeClassRef);
  return (['group', 'kind'] as const).filter((f) => !asString(ref[f]));
}

/**
 * Lists NodePools, EC2NodeClasses and NodeClaims at v1 when it is served (reading through the
 * conversion webhook if objects are stored as v1beta1), else at the storage version. A list that fails
 * is recorded, not thrown: a 1.0 cluster whose controller is down cannot convert, and that is a finding.
 */
async function readScannedObjects(
  kube: KubePort,
  crds: KarpenterCrd[],
  out: InstalledKarpenter,
): Promise<void> {
  await Promise.all(
    KARPENTER_CRDS.filter((d) => d.scanned).map(async (def) => {
      const found = crds.find((c) => c.name === def.name);
      if (!found) return;
      const version = found.servedVersions.includes('v1')
        ? 'v1'
        : (found.storageVersion ?? found.servedVersions[0]);
      if (!version) return;
      let items: KubeObject[];
      try {
        items = await kube.list({
          group: def.group,
          version,
          plural: def.plural,
          kind: def.kind,
          namespaced: false,
        });
      } catch (e) {
        out.unreadable.push({
          scope: 'objects',
          what: `${def.kind} objects (${def.group}/${version})`,
          error: describeError(e),
        });
        return;
      }
      for (const obj of items) {
        const name = obj.metadata?.name ?? '';
        const annotations = compatibilityAnnotations(obj);
        if (Object.keys(annotations).length > 0)
          out.compatibilityAnnotations.push({ kind: def.kind, name, annotations });
        if (version === 'v1' && def.kind !== 'EC2NodeClass') {
          const missing = missingRefFields(def.kind, obj);
          if (missing.length > 0) out.incompleteNodeClassRefs.push({ kind: def.kind, name, missing });
        }
      }
    }),
  );
  const order = byKey((o: { kind: string; name: string }) => `${o.kind}\0${o.name}`);
  out.compatibilityAnnotations.sort(order);
  out.incompleteNodeClassRefs.sort(order);
}

async function readWebhookConfigurations(kube: KubePort): Promise<KarpenterWebhookConfiguration[]> {
  const lists = await Promise.all(
    WEBHOOK_KINDS.map(async (kind) => ({ kind, items: await kube.list(webhookResource(kind)) })),
  );
  const out: KarpenterWebhookConfiguration[] = [];
  for (const { kind, items } of lists) {
    for (const obj of items) {
      const name = obj.metadata?.name ?? '';
      const documented = DOCUMENTED_STALE_WEBHOOKS.includes(name);
      if (!documented && !name.includes('karpenter')) continue;
      const services = asList(obj.webhooks)
        .map((w) => asMap(asMap(asMap(w).clientConfig).service))
        .filter((s) => asString(s.name))
        .map((s) => ({ namespace: asString(s.namespace) ?? '', name: String(s.name) }));
      const hook: KarpenterWebhookConfiguration = { kind, name, documented, services, helm: ownership(obj) };
      if (obj.metadata?.uid) hook.uid = obj.metadata.uid;
      out.push(hook);
    }
  }
  return out.sort(byKey((w) => `${w.kind}\0${w.name}`));
}

/** The family of a version: 0.y is `0.3x`, 1.0.z is `1.0.x`, anything later `1.x`. */
export function buildVersionFamily(version: string): VersionFamily {
  const v = parseRelease(version);
  if (v?.major === 0) return '0.3x';
  if (v?.major === 1 && v.minor === 0) return '1.0.x';
  return '1.x';
}

/**
 * The family the CRDs reveal when no version can be read: v1beta1 as storage is 0.33–0.37, v1 next to
 * a served v1beta1 is 1.0, v1 alone is 1.1 or later, only v1alpha5 CRDs are 0.32 or older.
 */
function familyFromCrds(crds: KarpenterCrd[]): VersionFamily {
  const nodePools = crds.find((c) => c.name === 'nodepools.karpenter.sh');
  if (nodePools) {
    if (nodePools.storageVersion !== 'v1') return '0.3x';
    return nodePools.servedVersions.includes('v1beta1') ? '1.0.x' : '1.x';
  }
  if (crds.some((c) => c.legacy)) return '0.3x';
  if (crds.length > 0) return '1.x';
  return 'none';
}

/** Classifies what was read; split from the reads so that every combination can be tested without a cluster. */
export function buildInstalledKarpenter(
  parts: Omit<InstalledKarpenter, 'kind' | 'family' | 'version' | 'versionSource' | 'release'>,
): InstalledKarpenter {
  const out: InstalledKarpenter = { kind: 'none', family: 'none', ...parts };
  const controllerRelease = parts.releases.find((r) => r.chart === 'karpenter');
  const crdRelease = parts.releases.find((r) => r.chart === 'karpenter-crd');
  const primary = controllerRelease ?? crdRelease;
  if (primary) {
    out.kind = 'helm';
    out.release = { name: primary.name, namespace: primary.namespace };
  } else if (parts.controllers.length > 0 || parts.crds.length > 0) {
    out.kind = 'manifests';
  }
  const labelled = parts.controllers.find((c) => c.version);
  const releaseVersion = controllerRelease
    ? (normalizeVersion(controllerRelease.appVersion) ?? normalizeVersion(controllerRelease.chartVersion))
    : undefined;
  const crdVersion = normalizeVersion(crdRelease?.chartVersion);
  if (labelled?.version) {
    out.version = labelled.version;
    out.versionSource = labelled.versionSource === 'label' ? 'deployment-label' : 'deployment-image';
  } else if (releaseVersion) {
    out.version = releaseVersion;
    out.versionSource = 'helm-release';
  } else if (crdVersion) {
    out.version = crdVersion;
    out.versionSource = 'crd-release';
  }
  out.family = out.version ? buildVersionFamily(out.version) : familyFromCrds(parts.crds);
  return out;
}

/**
 * Reads what Karpenter is installed, across all namespaces: controller Deployments, the Karpenter
 * CRDs, the Helm releases of the karpenter and karpenter-crd charts as those objects' Helm metadata
 * tells them, v1beta1 leftovers on NodePools, EC2NodeClasses and NodeClaims, and Karpenter's webhook
 * configurations. The upgrade route is decided from this alone, so it reads everything a documented
 * upgrade step depends on; it reads no Secret, so a planner without Secret access sees the same.
 */
export async function readInstalledKarpenter(kube: KubePort): Promise<InstalledKarpenter> {
  const unreadable: Unreadable[] = [];
  const [controllers, crds, webhookConfigurations] = await Promise.all([
    readControllers(kube),
    readCrds(kube),
    readWebhookConfigurations(kube),
  ]);
  const parts = {
    controllers,
    releases: buildReleasesFromObjects(controllers, crds),
    crds,
    compatibilityAnnotations: [],
    incompleteNodeClassRefs: [],
    webhookConfigurations,
    unreadable,
  };
  const installed = buildInstalledKarpenter(parts);
  await readScannedObjects(kube, crds, installed);
  return installed;
}
