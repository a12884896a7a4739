import { Refusal } from '../errors.ts';
import type { Finding } from '../plan/model.ts';
import { isKnownBad } from '../versions/index.ts';
import {
  HELM_MANAGED_BY,
  HELM_RELEASE_NAME,
  HELM_RELEASE_NAMESPACE,
  type ControllerDeployment,
  type HelmOwnership,
  type HelmRelease,
  type InstalledKarpenter,
  type KarpenterCrd,
} from './detect.ts';
import { compareReleases, parseRelease } from '../util/release.ts';

/**
 * The latest 1.0 patch the v1 migration guide names for step 7 ("set KARPENTER_VERSION to the latest
 * v1.0.x release"), per website/content/en/v1.0/upgrading/v1-migration.md as read for
 * research/karpenter.md §2.2. A parameter of the route, since the guide's number moves with releases.
 */
export const LATEST_1_0_PATCH = '1.0.11';

/**
 * The latest patch of each 0.33–0.37 minor, with conversion webhooks: the guide's step 3 target before
 * 1.0, and the only versions it allows rolling back to from 1.0.x (v1-migration.md § Downgrading).
 */
export const ROLLBACK_PATCHES: Readonly<Record<string, string>> = {
  '0.33': '0.33.12',
  '0.34': '0.34.13',
  '0.35': '0.35.12',
  '0.36': '0.36.9',
  '0.37': '0.37.7',
};

/** Karpenter 1.0.6 added the controller that rewrites stored objects as v1 (v1-migration.md § Stored Version Migration). */
export const STORAGE_MIGRATION_SINCE = '1.0.6';

const WEBHOOK_PORT = '8443';
const CRD_KINDS_FOR_V1 = 'nodepools.karpenter.sh, nodeclaims.karpenter.sh, ec2nodeclasses.karpenter.k8s.aws';
const MIGRATION_GUIDE = 'website/content/en/v1.0/upgrading/v1-migration.md';
const UPGRADE_GUIDE = 'website/content/en/v1.14/upgrading/upgrade-guide.md';
const SHARED_CRDS = ['capacitybuffers.autoscaling.x-k8s.io'];

/** Where the install is meant to live, from the config; the defaults are the getting-started guide's. */
export interface RouteOptions {
  namespace?: string;
  releaseName?: string;
  crdReleaseName?: string;
  /** The 1.0 patch a 0.3x install passes through; defaults to LATEST_1_0_PATCH. */
  latest10Patch?: string;
}

/**
 * `up-to-date`: nothing to do; `clean-up`: same version, only stale objects to delete; `adopt`: same
 * version, taken over by the action's releases; `blocked`: a documented route that a failed check stops.
 */
export type RouteStatus =
  'install' | 'up-to-date' | 'clean-up' | 'adopt' | 'upgrade' | 'rollback' | 'blocked' | 'refused';

/**
 * What one step does. `upgrade-crds`/`upgrade-controller` are `helm upgrade --install` of the
 * karpenter-crd and karpenter charts; `adopt` adds Helm's ownership metadata to existing objects so
 * that the next upgrade takes them over; `forget-release` deletes only a release's Helm records (its
 * objects stay); `uninstall-release` is `helm uninstall`; `delete` deletes the listed objects.
 */
export type RouteAction =
  'upgrade-crds' | 'upgrade-controller' | 'adopt' | 'forget-release' | 'uninstall-release' | 'delete';

/** An object a step acts on. */
export interface RouteObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/**
 * A condition a step needs. `pending` means it can only be checked once the earlier applies have run
 * (for example storedVersions, which Karpenter 1.0 rewrites); the step's apply checks it again.
 */
export interface RoutePrecondition {
  id: 'v1-storage' | 'no-compatibility-annotations' | 'node-class-refs' | 'objects-readable';
  description: string;
  status: 'met' | 'failed' | 'pending';
  /** What to do, one instruction each, when it is not met. */
  fix: string[];
}

/** One step of the route, in the order it must run. */
export interface RouteStep {
  /** Stable within a route, e.g. `crds@1.0.11`, `adopt-crds`. */
  id: string;
  action: RouteAction;
  description: string;
  /** The Karpenter version a chart step installs. */
  version?: string;
  /** What helm's `--version` gets: 0.33 and 0.34 charts are published with a `v` prefix. */
  chartVersion?: string;
  chart?: 'karpenter' | 'karpenter-crd';
  release?: { name: string; namespace: string };
  /** Chart values the step needs on top of the action's own (`--set` keys). */
  values: Record<string, string>;
  objects: RouteObject[];
  /** For `forget-release`: the label selector of the Secrets holding every revision of `release`, listed when applied. */
  labelSelector?: string;
  /** For `adopt`: merged into each object's labels and annotations. */
  metadata?: { labels: Record<string, string>; annotations: Record<string, string> };
  /** Steps with the same number run in one apply; a later apply is planned only after the earlier ones are applied and verified. */
  apply: number;
  /** True when the step cannot run in the first apply: it needs an apply of its own after the earlier ones are verified. */
  separateApply: boolean;
  preconditions: RoutePrecondition[];
  /** The document the step follows. */
  source: string;
}

/**
 * The documented way from what is installed to the target, never skipping a required hop. A
 * `refused` route has no way; a `blocked` one has a way that a failed precondition stops now.
 */
export interface UpgradeRoute {
  status: RouteStatus;
  from?: string;
  to: string;
  summary: string;
  steps: RouteStep[];
  /** Error-level findings stop apply; warnings are shown with the plan. */
  findings: Finding[];
  /** The upgrade guide's notes for every minor version the route crosses. */
  notes: string[];
  refusal?: { message: string; details: string[] };
}

interface Version {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

function parseVersion(raw: string | undefined): Version | undefined {
  const v = parseRelease(raw, { strict: true });
  return v && { major: v.major, minor: v.minor, patch: v.patch, text: v.version };
}

const compare = (a: Version, b: Version): number =>
  compareReleases(parseRelease(a.text)!, parseRelease(b.text)!);
const minorOf = (v: Version): string => `${v.major}.${v.minor}`;
const chartVersionOf = (v: Version): string => (v.major === 0 && v.minor < 35 ? `v${v.text}` : v.text);

/**
 * What the upgrade guide says for each minor version (the "Upgrading to x.y.0+" sections of
 * website/content/en/v1.14/upgrading/upgrade-guide.md), in the action's words. Minors whose section
 * says "no breaking changes" are left out.
 *
 * The 1.15 notes are not from the guide: its 1.15 section could not be read. They are what the
 * v1.14.1 and v1.15.2 modules' charts/karpenter values.yaml and templates and pkg/apis/crds show
 * changed, plus the 1.15 controller policy (see src/versions/templates.ts), one change a note.
 */
export const UPGRADE_NOTES: readonly { since: string; note: string }[] = [
  {
    since: '1.0.0',
    note: 'v1 APIs arrive with conversion webhooks: expiry becomes forceful, kubelet settings move to the EC2NodeClass, the Ubuntu AMI family is gone and the IMDS hop limit defaults to 1 (v1 migration guide)',
  },
  {
    since: '1.1.0',
    note: 'v1beta1 is no longer served, its compatibility annotations are ignored, and nodeClassRef.group and nodeClassRef.kind are required',
  },
  {
    since: '1.2.0',
    note: 'metric reason labels become snake_case and the nodeclass status and termination controllers merge into one `nodeclass` controller',
  },
  {
    since: '1.3.0',
    note: 'karpenter_ignored_pod_count is renamed karpenter_scheduler_ignored_pod_count; with ReservedCapacity the capacity type `reserved` appears, so on-demand nodeSelectors may need nodeAffinity',
  },
  {
    since: '1.6.0',
    note: 'native ODCR support is on by default: EC2NodeClasses using open ODCRs need capacityReservationSelectorTerms before the upgrade, or the reservations go unused',
  },
  {
    since: '1.7.0',
    note: 'instance profiles are created under a path, the controller needs iam:ListInstanceProfiles, and two metrics are renamed',
  },
  { since: '1.8.0', note: 'static capacity needs the 1.8 CRDs; 1.8.4 must not be installed' },
  {
    since: '1.9.0',
    note: "the getting-started template's controller policy is split into five policies with the same permissions",
  },
  {
    since: '1.10.0',
    note: 'the interruption rules gain a detail-type for capacity reservation interruption warnings',
  },
  { since: '1.11.0', note: 'the controller policy gains placement group permissions' },
  {
    since: '1.12.0',
    note: 'drift now covers the CA bundle and marks existing nodes drifted; the controller needs ec2:DescribeInstanceStatus',
  },
  {
    since: '1.14.0',
    note: 'the karpenter-crd chart adds the CapacityBuffer CRD; upgrade it with the controller',
  },
  {
    since: '1.15.0',
    note: 'NodePool disruption budgets gain the reason `Unhealthy`: node repair now runs as a voluntary disruption method',
  },
  {
    since: '1.15.0',
    note: 'NodePool spec.disruption.consolidateAfter is no longer required and defaults to 0s',
  },
  {
    since: '1.15.0',
    note: 'new chart value settings.enableDRA turns on the AWS DRA driver gates; it cannot be combined with settings.awsFeatureGates.draNVIDIAGPU, settings.awsFeatureGates.draEFA or settings.ignoreDRARequests (the chart fails to render)',
  },
  {
    since: '1.15.0',
    note: 'new chart value settings.legacyNodeRepair runs the old node repair controller (only with settings.featureGates.nodeRepair); it cannot be combined with settings.featureGates.terminateFirstRepair (the chart fails to render)',
  },
  {
    since: '1.15.0',
    note: 'new chart value settings.securityGroupRefreshInterval (default 1m, at least 1m)',
  },
  {
    since: '1.15.0',
    note: 'new alpha feature gates settings.featureGates.terminateFirstDrift, terminateFirstRepair and podDeletionCostManagement, all off by default',
  },
  {
    since: '1.15.0',
    note: 'new settings.awsFeatureGates (nodeClassCEL, draNVIDIAGPU, draEFA, rebootForRepair), all off by default; rebootForRepair needs ec2:RebootInstances, which the 1.15 controller policy grants',
  },
  {
    since: '1.15.0',
    note: 'EC2NodeClass spec.kubelet is no longer checked by the CRD schema: invalid kubelet settings show as ValidationSucceeded=False on the EC2NodeClass instead of failing the apply',
  },
];

interface Context {
  namespace: string;
  releaseName: string;
  crdReleaseName: string;
  /** The controller's Service, which the conversion webhook stanza of the 0.3x and 1.0 CRDs names. */
  serviceName: string;
  latest10: Version;
}

/** The karpenter chart's fullname template: the release name when it contains "karpenter", else `<release>-karpenter`. */
function chartFullname(releaseName: string): string {
  return (releaseName.includes('karpenter') ? releaseName : `${releaseName}-karpenter`).slice(0, 63);
}

type Draft = Omit<RouteStep, 'apply' | 'separateApply'>;

function chartStep(
  ctx: Context,
  chart: 'karpenter' | 'karpenter-crd',
  v: Version,
  values: Record<string, string>,
  description: string,
  source: string,
  preconditions: RoutePrecondition[] = [],
): Draft {
  return {
    id: `${chart === 'karpenter' ? 'controller' : 'crds'}@${v.text}`,
    action: chart === 'karpenter' ? 'upgrade-controller' : 'upgrade-crds',
    description,
    version: v.text,
    chartVersion: chartVersionOf(v),
    chart,
    release: {
      name: chart === 'karpenter' ? ctx.releaseName : ctx.crdReleaseName,
      namespace: ctx.namespace,
    },
    values,
    objects: [],
    preconditions,
    source,
  };
}

const controllerWebhookValues = (): Record<string, string> => ({
  'webhook.enabled': 'true',
  'webhook.port': WEBHOOK_PORT,
});

const crdWebhookValues = (ctx: Context): Record<string, string> => ({
  'webhook.enabled': 'true',
  'webhook.serviceName': ctx.serviceName,
  'webhook.serviceNamespace': ctx.namespace,
  'webhook.port': WEBHOOK_PORT,
});

/**
 * Steps 4 and 5 of the v1 migration guide: the controller at the minor's latest patch with its
 * webhooks on, then that patch's CRDs pointing their conversion webhook at it. This is the version a
 * rollback from 1.0 returns to, so it is applied and validated on its own.
 */
function patchHop(ctx: Context, v: Version): Draft[] {
  return [
    chartStep(
      ctx,
      'karpenter',
      v,
      controllerWebhookValues(),
      `Upgrade the controller to ${v.text}, the latest ${minorOf(v)} patch, with its webhooks enabled: the release a rollback from 1.0 returns to`,
      `${MIGRATION_GUIDE} § Upgrade Procedure, step 4`,
    ),
    chartStep(
      ctx,
      'karpenter-crd',
      v,
      crdWebhookValues(ctx),
      `Apply the ${v.text} CRDs with the karpenter-crd chart so that their conversion webhook points at the controller (${ctx.namespace}/${ctx.serviceName}:${WEBHOOK_PORT}); validate Karpenter on this release before going on`,
      `${MIGRATION_GUIDE} § Upgrade Procedure, steps 5 and 6`,
    ),
  ];
}

/** Steps 9 and 10: the 1.0 CRDs (v1 storage, conversion webhook to the controller), then the 1.0 controller. */
function v10Hop(ctx: Context, v: Version): Draft[] {
  return [
    chartStep(
      ctx,
      'karpenter-crd',
      v,
      crdWebhookValues(ctx),
      `Apply the ${v.text} CRDs with the karpenter-crd chart: v1 becomes the storage version and v1beta1 is still served through the controller's conversion webhook`,
      `${MIGRATION_GUIDE} § Upgrade Procedure, step 9`,
    ),
    chartStep(
      ctx,
      'karpenter',
      v,
      controllerWebhookValues(),
      `Upgrade the controller to ${v.text}; it converts v1beta1 objects to v1 (and, from ${STORAGE_MIGRATION_SINCE}, rewrites them stored as v1). The controller role needs the v1 controller policy first (prereqs stage)`,
      `${MIGRATION_GUIDE} § Upgrade Procedure, steps 8 and 10`,
    ),
  ];
}

/** A hop within v1: the CRD chart first (Helm never upgrades a chart's crds/ folder), then the controller. */
function v1Hop(
  ctx: Context,
  v: Version,
  from: Version | undefined,
  preconditions: RoutePrecondition[],
): Draft[] {
  const across =
    from && minorOf(from) !== minorOf(v) ? ` (from ${from.text}; no minor in between is needed)` : '';
  return [
    chartStep(
      ctx,
      'karpenter-crd',
      v,
      {},
      `Apply the ${v.text} CRDs with the karpenter-crd chart${across}`,
      `${UPGRADE_GUIDE} § CRD Upgrades`,
      preconditions,
    ),
    chartStep(
      ctx,
      'karpenter',
      v,
      {},
      `Upgrade the controller to ${v.text} with the karpenter chart, its CRDs skipped`,
      UPGRADE_GUIDE,
    ),
  ];
}

function objectRef(
  kind: string,
  apiVersion: string,
  name: string,
  namespace?: string,
  uid?: string,
): RouteObject {
  const ref: RouteObject = { apiVersion, kind, name };
  if (namespace) ref.namespace = namespace;
  if (uid) ref.uid = uid;
  return ref;
}

const crdRef = (c: KarpenterCrd): RouteObject =>
  objectRef('CustomResourceDefinition', 'apiextensions.k8s.io/v1', c.name, undefined, c.uid);
const deploymentRef = (d: ControllerDeployment): RouteObject =>
  objectRef('Deployment', 'apps/v1', d.name, d.namespace, d.uid);

function ownedBy(h: HelmOwnership, name: string, namespace: string): boolean {
  return h.managedBy === 'Helm' && h.releaseName === name && h.releaseNamespace === namespace;
}

const ownershipMetadata = (name: string, namespace: string): NonNullable<RouteStep['metadata']> => ({
  labels: { [HELM_MANAGED_BY]: 'Helm' },
  annotations: { [HELM_RELEASE_NAME]: name, [HELM_RELEASE_NAMESPACE]: namespace },
});

const chartOf = (r: HelmRelease): string => (r.chartVersion ? `${r.chart} ${r.chartVersion}` : r.chart);

const sameRelease = (r: HelmRelease, name: string, namespace: string): boolean =>
  r.name === name && r.namespace === namespace;

function desiredRelease(ctx: Context, r: HelmRelease): boolean {
  return sameRelease(r, r.chart === 'karpenter' ? ctx.releaseName : ctx.crdReleaseName, ctx.namespace);
}

function error(code: string, message: string, fix?: string): Finding {
  return fix ? { level: 'error', code, message, fix } : { level: 'error', code, message };
}

/**
 * Taking over what is installed under other names: CRDs are given the CRD release's ownership metadata
 * (Helm then adopts them, keeping every NodePool, EC2NodeClass and NodeClaim); a karpenter-crd release
 * elsewhere is forgotten by deleting its release records only, because `helm uninstall` deletes the CRDs
 * it renders as templates, and with them every object of those kinds (a live `helm.sh/resource-policy:
 * keep` annotation does not stop it: Helm reads the policy from the stored manifest); a controller release
 * elsewhere renders no CRDs (the chart's CRDs are in crds/, which Helm never deletes) and is uninstalled
 * before the new one is installed, so two controllers never run at once; a controller applied as
 * manifests is adopted in place, or deleted when it lives under another name or namespace.
 */
function adoptionSteps(installed: InstalledKarpenter, ctx: Context, findings: Finding[]): Draft[] {
  const steps: Draft[] = [];
  const crdOwner = ownershipMetadata(ctx.crdReleaseName, ctx.namespace);
  const karpenterReleaseNames = new Set(installed.releases.map((r) => `${r.namespace}/${r.name}`));

  const crds = installed.crds.filter((c) => !c.legacy && !ownedBy(c.helm, ctx.crdReleaseName, ctx.namespace));
  const adoptable = crds.filter((c) => {
    if (!SHARED_CRDS.includes(c.name) || !c.helm.releaseName) return true;
    if (karpenterReleaseNames.has(`${c.helm.releaseNamespace ?? ''}/${c.helm.releaseName}`)) return true;
    findings.push(
      error(
        'karpenter-crd-owned-elsewhere',
        `CRD ${c.name} belongs to Helm release ${c.helm.releaseNamespace ?? '?'}/${c.helm.releaseName}, which is not a Karpenter release; the karpenter-crd chart would take it over`,
        `decide which release owns ${c.name}: remove it from that release, or keep Karpenter's CRD chart from rendering it`,
      ),
    );
    return false;
  });
  if (adoptable.length > 0) {
    steps.push({
      id: 'adopt-crds',
      action: 'adopt',
      description: `Give the existing CRDs the ownership metadata of release ${ctx.namespace}/${ctx.crdReleaseName}, so that the karpenter-crd chart adopts them in place; CRDs are never deleted, so no NodePool, EC2NodeClass or NodeClaim is lost`,
      values: {},
      objects: adoptable.map(crdRef),
      metadata: crdOwner,
      preconditions: [],
      source:
        'website/content/en/v1.14/troubleshooting.md § Helm Error When Installing the karpenter-crd Chart',
    });
  }

  const forgotten = new Set<string>();
  for (const r of installed.releases.filter((x) => !desiredRelease(ctx, x))) {
    if (r.templatedCrds.length > 0) {
      forgotten.add(`${r.namespace}/${r.name}`);
      steps.push({
        id: `forget-release:${r.namespace}/${r.name}`,
        action: 'forget-release',
        description: `Forget release ${r.namespace}/${r.name} (${chartOf(r)}) by deleting its Helm records only (the Secrets labelled owner=helm,name=${r.name} in ${r.namespace}): it renders ${r.templatedCrds.join(', ')} as templates, so \`helm uninstall\` would delete those CRDs and every object of their kinds`,
        release: { name: r.name, namespace: r.namespace },
        values: {},
        objects: [],
        labelSelector: `owner=helm,name=${r.name}`,
        preconditions: [],
        source:
          'helm/helm pkg/action/uninstall.go (resources of the release manifest are deleted unless the manifest says keep)',
      });
    } else {
      steps.push({
        id: `uninstall-release:${r.namespace}/${r.name}`,
        action: 'uninstall-release',
        description: `Uninstall release ${r.namespace}/${r.name} (${chartOf(r)}) before the release in ${ctx.namespace} is installed, so two controllers never run at once; it renders no CRDs, and Helm never deletes the CRDs of a chart's crds/ folder`,
        release: { name: r.name, namespace: r.namespace },
        values: {},
        objects: [],
        preconditions: [],
        source: 'https://helm.sh/docs/chart_best_practices/custom_resource_definitions/',
      });
    }
  }

  const adoptControllers: ControllerDeployment[] = [];
  const retire: ControllerDeployment[] = [];
  for (const c of installed.controllers) {
    if (ownedBy(c.helm, ctx.releaseName, ctx.namespace)) continue;
    if (c.helm.releaseName) {
      const key = `${c.helm.releaseNamespace ?? ''}/${c.helm.releaseName}`;
      if (forgotten.has(key)) {
        retire.push(c);
        continue;
      }
      if (karpenterReleaseNames.has(key)) continue;
      findings.push(
        error(
          'karpenter-controller-owned-elsewhere',
          `Deployment ${c.namespace}/${c.name} is managed by Helm release ${key}, which is not a release of the karpenter chart (an umbrella chart, or a release whose records are gone)`,
          `take Karpenter out of release ${key} (or remove its ownership annotations if the release no longer exists), then run the action again`,
        ),
      );
      continue;
    }
    if (c.namespace === ctx.namespace && c.name === ctx.serviceName) adoptControllers.push(c);
    else retire.push(c);
  }
  if (retire.length > 0) {
    steps.push({
      id: 'delete-old-controllers',
      action: 'delete',
      description: `Delete the controller Deployment${retire.length > 1 ? 's' : ''} outside release ${ctx.namespace}/${ctx.releaseName} that no uninstall removes, before the release is installed, so two controllers never run at once; their other namespaced objects (ServiceAccount, Service, Role, RoleBinding, PodDisruptionBudget) are left for the user to delete`,
      values: {},
      objects: retire.map(deploymentRef),
      preconditions: [],
      source: 'website/content/en/v1.14/getting-started/migrating-from-cas/_index.md (helm template install)',
    });
  }
  if (adoptControllers.length > 0 || retire.length > 0) {
    steps.push({
      id: 'adopt-controller',
      action: 'adopt',
      description: `Give the objects of the manifest install the ownership metadata of release ${ctx.namespace}/${ctx.releaseName}: ${
        adoptControllers.length > 0
          ? `${adoptControllers.map((c) => `${c.namespace}/${c.name}`).join(', ')} and `
          : ''
      }every other object the karpenter chart renders that already exists (found when the chart is rendered), so that \`helm upgrade --install\` adopts them instead of failing on "invalid ownership metadata"`,
      values: {},
      objects: adoptControllers.map(deploymentRef),
      metadata: ownershipMetadata(ctx.releaseName, ctx.namespace),
      preconditions: [],
      source:
        'website/content/en/v1.14/troubleshooting.md § Helm Error When Installing the karpenter-crd Chart',
    });
  }
  return steps;
}

/** Deleting Karpenter's webhook configurations: none is served since 1.0, and a stale one rejects or times out writes to Karpenter's objects. */
function staleWebhookStep(installed: InstalledKarpenter): Draft[] {
  if (installed.webhookConfigurations.length === 0) return [];
  return [
    {
      id: 'delete-stale-webhooks',
      action: 'delete',
      description: `Delete Karpenter's webhook configurations (${installed.webhookConfigurations
        .map((w) => w.name)
        .join(
          ', ',
        )}): Karpenter serves none since 1.0, and those Helm does not remove itself are left behind`,
      values: {},
      objects: installed.webhookConfigurations.map((w) =>
        objectRef(w.kind, 'admissionregistration.k8s.io/v1', w.name, undefined, w.uid),
      ),
      preconditions: [],
      source: `${MIGRATION_GUIDE} § Upgrade Procedure, step 10 (stale webhook configurations)`,
    },
  ];
}

function compatibilityFix(kind: string, name: string, key: string): string {
  const remove = `kubectl annotate ${kind.toLowerCase()} ${name} ${key}-`;
  if (key.endsWith('/v1beta1-kubelet-conversion'))
    return `${kind} ${name}: move the kubelet settings in ${key} to spec.kubelet of its EC2NodeClass (NodePools with different kubelet settings need EC2NodeClasses of their own, which drifts their nodes), then \`${remove}\`; removing it before the EC2NodeClass matches drifts the nodes`;
  if (key.endsWith('/v1beta1-nodeclass-reference'))
    return `${kind} ${name}: apply it as v1 with nodeClassRef {group: karpenter.k8s.aws, kind: EC2NodeClass, name}, then \`${remove}\``;
  if (key.endsWith('/v1beta1-ubuntu'))
    return `${kind} ${name}: it was converted from amiFamily Ubuntu; apply it as v1 with explicit amiSelectorTerms and amiFamily AL2 (or Custom with your own user data), then \`${remove}\``;
  return `${kind} ${name}: apply it as v1, then \`${remove}\``;
}

/**
 * "Before upgrading to v1.1.0" (v1-migration.md): every object stored as v1, no compatibility
 * annotation left, nodeClassRef complete. `pending` checks are those a later apply re-evaluates: after a
 * 1.0 controller runs, storedVersions change and conversion adds annotations.
 */
function v1Preconditions(
  installed: InstalledKarpenter,
  pending: ReadonlySet<RoutePrecondition['id']>,
): RoutePrecondition[] {
  const status = (id: RoutePrecondition['id'], met: boolean): RoutePrecondition['status'] =>
    pending.has(id) ? 'pending' : met ? 'met' : 'failed';

  const storage = installed.crds.filter(
    (c) => c.v1Migration && (c.storageVersion !== 'v1' || c.storedVersions.join(',') !== 'v1'),
  );
  const storageFix = [
    ...storage.map(
      (c) =>
        `${c.name}: storage version ${c.storageVersion ?? 'none'}, storedVersions [${c.storedVersions.join(', ')}]; both must be v1 only`,
    ),
    `Karpenter ${STORAGE_MIGRATION_SINCE} or a later 1.0 patch rewrites every stored object as v1 and then lists only v1 in status.storedVersions; check with \`kubectl get crd <name> -o jsonpath='{.status.storedVersions}'\` for ${CRD_KINDS_FOR_V1}`,
    `if v1beta1 stays listed, check the storage version with \`kubectl get crd <name> -o jsonpath='{.spec.versions[?(@.storage==true)].name}'\`; if it is not v1, the 1.0 CRDs were never applied: apply them with the karpenter-crd 1.0 chart (webhook.enabled=true)`,
  ];

  const annotated = installed.compatibilityAnnotations;
  const annotationFix = annotated.flatMap((o) =>
    Object.keys(o.annotations).map((key) => compatibilityFix(o.kind, o.name, key)),
  );
  if (pending.has('no-compatibility-annotations'))
    annotationFix.push(
      'the 1.0 conversion adds compatibility.karpenter.sh/v1beta1-kubelet-conversion to NodePools that set kubelet, and compatibility.karpenter.k8s.aws/v1beta1-ubuntu to Ubuntu EC2NodeClasses: move those settings to v1 and remove the annotations before 1.1',
    );

  const refs = installed.incompleteNodeClassRefs;
  const refFix = refs.map(
    (r) =>
      `${r.kind} ${r.name}: set nodeClassRef ${r.missing.join(' and ')} (group: karpenter.k8s.aws, kind: EC2NodeClass)`,
  );
  const scanErrors = installed.unreadable.filter((u) => u.scope === 'objects');

  return [
    {
      id: 'v1-storage',
      description: `Every Karpenter object is stored as v1: storage version and status.storedVersions are exactly [v1] for ${CRD_KINDS_FOR_V1}`,
      status: status('v1-storage', storage.length === 0),
      fix: storage.length > 0 || pending.has('v1-storage') ? storageFix : [],
    },
    {
      id: 'no-compatibility-annotations',
      description:
        'No NodePool, EC2NodeClass or NodeClaim carries a compatibility.karpenter.* annotation (1.1 ignores them)',
      status: status('no-compatibility-annotations', annotated.length === 0),
      fix: annotationFix,
    },
    {
      id: 'node-class-refs',
      description:
        'Every NodePool and NodeClaim sets nodeClassRef.group and nodeClassRef.kind (required from 1.1)',
      status: status('node-class-refs', refs.length === 0),
      fix:
        refs.length > 0 || pending.has('node-class-refs')
          ? [...refFix, 'apply the NodePools as v1 manifests']
          : [],
    },
    {
      id: 'objects-readable',
      description: 'NodePools, EC2NodeClasses and NodeClaims can be read, so the checks above are complete',
      status: status('objects-readable', scanErrors.length === 0),
      fix: scanErrors.map(
        (u) =>
          `${u.what} could not be listed (${u.error}); on 1.0 this needs the controller's conversion webhook to be running`,
      ),
    },
  ];
}

/**
 * A failed check of the first apply stops it (error); one of a later apply is a warning, since that
 * apply is planned again, and checked again, after the first has run.
 */
function preconditionFindings(steps: RouteStep[], findings: Finding[]): void {
  for (const step of steps)
    for (const p of step.preconditions)
      if (p.status === 'failed')
        findings.push({
          level: step.apply === 1 ? 'error' : 'warning',
          code: `karpenter-${p.id}`,
          message: `Before ${step.version ?? step.id}: ${p.description} — not met`,
          fix: p.fix.join('; '),
        });
}

function notesBetween(from: Version, to: Version): string[] {
  return UPGRADE_NOTES.filter((n) => {
    const since = parseVersion(n.since)!;
    return compare(since, from) > 0 && compare(since, to) <= 0;
  }).map((n) => `Upgrading to ${n.since}+: ${n.note}`);
}

function number(applies: Draft[][]): RouteStep[] {
  return applies
    .filter((a) => a.length > 0)
    .flatMap((a, i) => a.map((s) => ({ ...s, apply: i + 1, separateApply: i > 0 })));
}

function summaryOf(status: RouteStatus, from: string | undefined, to: string, steps: RouteStep[]): string {
  const versions = [...new Set(steps.filter((s) => s.version).map((s) => s.version!))];
  const applies = new Set(steps.map((s) => s.apply)).size;
  const path = [from ?? 'nothing', ...versions.filter((v) => v !== from)].join(' → ');
  switch (status) {
    case 'refused':
      return `no documented route from ${from ?? 'the installed Karpenter'} to ${to}`;
    case 'up-to-date':
      return `Karpenter ${to} is installed; nothing to do`;
    case 'blocked':
      return `${path}: blocked until the failed checks are fixed`;
    case 'install':
    case 'clean-up':
    case 'adopt':
    case 'upgrade':
    case 'rollback':
      return `${status} ${path} in ${applies} ${applies === 1 ? 'apply' : 'applies'}`;
  }
}

function refused(
  installed: InstalledKarpenter,
  to: string,
  message: string,
  details: string[],
  code: string,
): UpgradeRoute {
  const route: UpgradeRoute = {
    status: 'refused',
    to,
    summary: '',
    steps: [],
    findings: [error(code, message, details.join('; '))],
    notes: [],
    refusal: { message, details },
  };
  if (installed.version) route.from = installed.version;
  route.summary = summaryOf('refused', installed.version, to, []);
  return route;
}

function finish(
  installed: InstalledKarpenter,
  to: Version,
  status: RouteStatus,
  applies: Draft[][],
  findings: Finding[],
  notes: string[],
): UpgradeRoute {
  const steps = number(applies);
  preconditionFindings(steps, findings);
  const blocked = findings.some((f) => f.level === 'error');
  const finalStatus: RouteStatus = blocked ? 'blocked' : steps.length === 0 ? 'up-to-date' : status;
  const route: UpgradeRoute = {
    status: finalStatus,
    to: to.text,
    summary: summaryOf(finalStatus, installed.version, to.text, steps),
    steps,
    findings,
    notes,
  };
  if (installed.version) route.from = installed.version;
  return route;
}

const PRE_V1BETA1_STEPS = [
  `upgrade to the latest 0.32.x following the v1beta1 migration guide (website/content/en/v1.0/upgrading/v1beta1-migration.md § Upgrade Procedure); 0.32 serves both the v1alpha5 and the v1beta1 APIs`,
  'replace every Provisioner, AWSNodeTemplate and Machine with a NodePool, EC2NodeClass and NodeClaim (v1beta1) and let the old nodes be replaced; 0.33 and later serve v1beta1 only',
  'upgrade to 0.33 or later (the upgrade guide sections "Upgrading to 0.33.0+" through "0.37.0+" list what changes), then run the action again: it takes 0.33–0.37 through the latest patch and 1.0 to the target',
];

/**
 * Blockers that stop any route: controllers at different versions. An interrupted Helm operation is
 * known only from Helm's release records, which the plan does not read: the install stage's apply
 * checks them (evaluateReleaseRecords) before its first write.
 */
function commonFindings(installed: InstalledKarpenter): Finding[] {
  const findings: Finding[] = [];
  const versions = new Set(installed.controllers.map((c) => c.version ?? 'unknown'));
  if (versions.size > 1)
    findings.push(
      error(
        'karpenter-controllers-disagree',
        `Karpenter controllers run at different versions: ${installed.controllers
          .map((c) => `${c.namespace}/${c.name} ${c.version ?? 'unknown'}`)
          .join(', ')}`,
        'remove every controller but one, so that the installed version is known',
      ),
    );
  return findings;
}

/**
 * The documented route from what is installed to `target`. Only the Karpenter docs' paths are allowed,
 * and none is shortened:
 *
 * - nothing installed: install the target (CRD chart, then controller chart);
 * - 1.x to a later 1.y: one hop. The upgrade guide (website/content/en/v1.14/upgrading/upgrade-guide.md)
 *   has one "Upgrading to x.y.0+" section per minor with what changes and no instruction to install
 *   the minors in between; compatibility.md asks users to read the section of every minor they cross.
 *   So minors may be skipped, and the route lists the notes of each one crossed;
 * - 1.0.x to 1.1 or later: one hop once every CRD stores only v1 and no compatibility annotation is
 *   left; below 1.0.6 (no stored-version migration yet) through the latest 1.0 patch first;
 * - 0.33–0.37: the latest patch of that minor with webhooks, then the latest 1.0 patch, then the
 *   target, each a separate apply (v1-migration.md § Upgrade Procedure);
 * - 0.32 and older: refused, with the docs' steps to 0.33;
 * - a downgrade: refused, except from 1.0.x to one of ROLLBACK_PATCHES (v1-migration.md § Downgrading).
 *
 * Installs under other release names or namespaces, and manifest installs, are taken over without
 * deleting a CRD (see adoptionSteps); stale webhook configurations are deleted once 1.0 runs.
 */
export function evaluateUpgradePath(
  installed: InstalledKarpenter,
  target: string,
  options: RouteOptions = {},
): UpgradeRoute {
  const to = parseVersion(target);
  if (!to)
    return refused(
      installed,
      target,
      `"${target}" is not a Karpenter version (MAJOR.MINOR.PATCH)`,
      [],
      'karpenter-target-invalid',
    );
  const latest10 = parseVersion(options.latest10Patch ?? LATEST_1_0_PATCH);
  if (!latest10 || latest10.major !== 1 || latest10.minor !== 0)
    return refused(
      installed,
      to.text,
      `the 1.0 patch to pass through must be a 1.0.z version, not "${options.latest10Patch ?? ''}"`,
      [],
      'karpenter-route-invalid',
    );
  const releaseName = options.releaseName ?? 'karpenter';
  const ctx: Context = {
    namespace: options.namespace ?? 'kube-system',
    releaseName,
    crdReleaseName: options.crdReleaseName ?? 'karpenter-crd',
    serviceName: chartFullname(releaseName),
    latest10,
  };
  const bad = isKnownBad(to.text);
  if (bad)
    return refused(
      installed,
      to.text,
      `Karpenter ${to.text} must not be installed: ${bad.reason}`,
      [bad.reference],
      'karpenter-target-known-bad',
    );

  const findings = commonFindings(installed);
  const from = parseVersion(installed.version);
  const notesFrom = from ?? parseVersion(installed.family === '1.0.x' ? '1.0.0' : '1.1.0')!;

  if (installed.kind === 'none') {
    if (to.major < 1)
      return refused(
        installed,
        to.text,
        `the action installs Karpenter 1.0 or later, not ${to.text}`,
        [],
        'karpenter-target-pre-v1',
      );
    const prefix = [...staleWebhookStep(installed), ...adoptionSteps(installed, ctx, findings)];
    return finish(installed, to, 'install', [[...prefix, ...v1HopFor(ctx, to, undefined, [])]], findings, []);
  }

  if (!from) {
    if (installed.family === '1.x' && to.major === 1 && to.minor === 0)
      return refused(
        installed,
        to.text,
        `the CRDs serve v1 only, so 1.1 or later is installed; going back to ${to.text} is not a documented path`,
        [`choose a target of 1.1 or later`],
        'karpenter-downgrade',
      );
    if (installed.family === '0.3x')
      return refused(
        installed,
        to.text,
        'cannot tell which 0.3x release is installed, and the route to 1.0 depends on its minor version',
        [
          'label the controller Deployment with app.kubernetes.io/version=<version>, or give its image a version tag, then run the action again',
        ],
        'karpenter-version-unknown',
      );
    findings.push({
      level: 'warning',
      code: 'karpenter-version-unknown',
      message: `no controller version could be read; the CRDs say ${installed.family}, so the route assumes that`,
    });
  }

  if (from && compare(from, to) === 0) {
    const steps = adoptionSteps(installed, ctx, findings);
    const webhooks = from.major >= 1 ? staleWebhookStep(installed) : [];
    const hop = steps.length > 0 ? hopSteps(ctx, to, from) : [];
    const status = steps.length > 0 ? 'adopt' : 'clean-up';
    return finish(installed, to, status, [[...webhooks, ...steps, ...hop]], findings, []);
  }

  if (from && compare(from, to) > 0) {
    const rollbackOk =
      from.major === 1 && from.minor === 0 && to.major === 0 && ROLLBACK_PATCHES[minorOf(to)] === to.text;
    if (!rollbackOk)
      return refused(
        installed,
        to.text,
        `downgrading Karpenter from ${from.text} to ${to.text} is not a documented path`,
        [
          `the docs name rollback targets only for 1.0.x: ${Object.values(ROLLBACK_PATCHES).join(', ')} (${MIGRATION_GUIDE} § Downgrading); from 1.1 on, rolling back to v1beta1 is impossible`,
          `keep ${from.text}, or choose a target of ${from.text} or later`,
        ],
        'karpenter-downgrade',
      );
    findings.push({
      level: 'warning',
      code: 'karpenter-rollback-kubelet',
      message: `rolling back to ${to.text}: v1-only fields set on 1.0 are lost, and NodePools whose kubelet settings moved to the EC2NodeClass need compatibility.karpenter.sh/v1beta1-kubelet-conversion back first`,
      fix: `re-add the compatibility annotation on those NodePools before applying; the controller role needs the ${to.text} controller policy (prereqs stage)`,
    });
    const rollback = patchHop(ctx, to).map((s) => ({
      ...s,
      description:
        s.chart === 'karpenter'
          ? `Roll the controller back to ${to.text} with its webhooks enabled, so that it can still read the objects 1.0 stored as v1`
          : `Roll the CRDs back to ${to.text} with the karpenter-crd chart, their conversion webhook pointing at the controller (${ctx.namespace}/${ctx.serviceName}:${WEBHOOK_PORT})`,
      source: `${MIGRATION_GUIDE} § Downgrade Procedure, step ${s.chart === 'karpenter' ? 4 : 5}`,
    }));
    return finish(
      installed,
      to,
      'rollback',
      [[...adoptionSteps(installed, ctx, findings), ...rollback]],
      findings,
      [],
    );
  }

  if (to.major < 1)
    return refused(
      installed,
      to.text,
      `the action installs Karpenter 1.0 or later, not ${to.text}`,
      [],
      'karpenter-target-pre-v1',
    );

  if (installed.family === '0.3x' && from) {
    if (from.minor <= 32)
      return refused(
        installed,
        to.text,
        `Karpenter ${from.text} predates the v1beta1 APIs; there is no documented route from it to 1.0 or later without 0.32 and 0.33 first`,
        PRE_V1BETA1_STEPS,
        'karpenter-pre-v1beta1',
      );
    const patch = parseVersion(ROLLBACK_PATCHES[minorOf(from)]);
    if (!patch)
      return refused(
        installed,
        to.text,
        `Karpenter ${from.text} is not a release the v1 migration guide knows`,
        [],
        'karpenter-version-unknown',
      );
    const applies: Draft[][] = [];
    const adoption = adoptionSteps(installed, ctx, findings);
    const conversionReady = installed.crds
      .filter((c) => c.v1Migration)
      .every(
        (c) =>
          c.conversionWebhook?.service?.name === ctx.serviceName &&
          c.conversionWebhook.service.namespace === ctx.namespace,
      );
    const patchNeeded = compare(from, patch) < 0 || !conversionReady || adoption.length > 0;
    if (patchNeeded) applies.push([...adoption, ...patchHop(ctx, patch)]);
    const v10 = to.major === 1 && to.minor === 0 ? to : ctx.latest10;
    applies.push([...v10Hop(ctx, v10), ...staleWebhookStep(installed)]);
    if (compare(to, v10) > 0) {
      const pending = new Set<RoutePrecondition['id']>([
        'v1-storage',
        'no-compatibility-annotations',
        'node-class-refs',
        'objects-readable',
      ]);
      applies.push(v1Hop(ctx, to, v10, v1Preconditions(installed, pending)));
    }
    return finish(installed, to, 'upgrade', applies, findings, notesBetween(notesFrom, to));
  }

  const adoption = adoptionSteps(installed, ctx, findings);
  const webhooks = staleWebhookStep(installed);
  const on10 = installed.family === '1.0.x';
  if (on10 && to.major === 1 && to.minor === 0)
    return finish(
      installed,
      to,
      'upgrade',
      [[...webhooks, ...adoption, ...v10Hop(ctx, to)]],
      findings,
      notesBetween(notesFrom, to),
    );
  if (on10) {
    const beforeMigration = from !== undefined && compare(from, parseVersion(STORAGE_MIGRATION_SINCE)!) < 0;
    const now = v1Preconditions(installed, new Set());
    const failing = now.filter((p) => p.status === 'failed').map((p) => p.id);
    if (beforeMigration && failing.includes('v1-storage')) {
      const pending = new Set<RoutePrecondition['id']>(['v1-storage', 'node-class-refs', 'objects-readable']);
      return finish(
        installed,
        to,
        'upgrade',
        [
          [...webhooks, ...adoption, ...v10Hop(ctx, ctx.latest10)],
          v1Hop(ctx, to, ctx.latest10, v1Preconditions(installed, pending)),
        ],
        findings,
        notesBetween(notesFrom, to),
      );
    }
    return finish(
      installed,
      to,
      'upgrade',
      [[...webhooks, ...adoption, ...v1Hop(ctx, to, from, now)]],
      findings,
      notesBetween(notesFrom, to),
    );
  }
  return finish(
    installed,
    to,
    'upgrade',
    [[...webhooks, ...adoption, ...v1Hop(ctx, to, from, [])]],
    findings,
    notesBetween(notesFrom, to),
  );
}

function v1HopFor(
  ctx: Context,
  to: Version,
  from: Version | undefined,
  preconditions: RoutePrecondition[],
): Draft[] {
  return to.major === 1 && to.minor === 0 ? v10Hop(ctx, to) : v1Hop(ctx, to, from, preconditions);
}

/** The chart steps that re-install the installed version, which is how Helm adopts objects in place. */
function hopSteps(ctx: Context, to: Version, from: Version): Draft[] {
  if (to.major === 0) return patchHop(ctx, to);
  return v1HopFor(ctx, to, from, []);
}

/** The Refusal a stage throws for a refused or blocked route: the message and every fix, without a stack. */
export function buildRouteRefusal(route: UpgradeRoute): Refusal | undefined {
  if (route.refusal) return new Refusal(route.refusal.message, route.refusal.details);
  if (route.status !== 'blocked') return undefined;
  const errors = route.findings.filter((f) => f.level === 'error');
  return new Refusal(
    `the route from Karpenter ${route.from ?? 'as installed'} to ${route.to} is blocked: ${errors.map((f) => f.message).join('; ')}`,
    errors.flatMap((f) => (f.fix ? [f.fix] : [])),
  );
}
