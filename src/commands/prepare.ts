import { DescribeClusterCommand } from '@aws-sdk/client-eks';
import { loadConfig, selectCluster, type ClusterConfig, type LoadedConfig } from '../config/load.ts';
import { loadManifests, substitutePlaceholders, type ManifestObject } from '../config/manifests.ts';
import { renderIssue, type ConfigIssue } from '../config/issues.ts';
import { buildAwsClients, readAccountId, readAl2023AliasVersion, type AwsClients } from '../adapters/aws.ts';
import { readActionsIdToken, readOidcCredentials } from '../adapters/aws-credentials.ts';
import type { AwsCredentialsLike } from '../adapters/eks-token.ts';
import { checkClusterAccess, evaluateApplyIdentity, type ClusterUser } from '../adapters/kube-access.ts';
import { buildEksKubeConfig, loadKubeConfigFile, readEksCluster } from '../adapters/kube-connect.ts';
import { KubeHttp } from '../adapters/kube-http.ts';
import { KubeClient, type KubePort } from '../adapters/kube.ts';
import { Refusal } from '../errors.ts';
import type { Inputs } from '../inputs.ts';
import type { Finding } from '../plan/model.ts';
import type { Logger } from '../stages/types.ts';
import { validateManifestsOffline } from './offline-validation.ts';

/** The side effects a command has besides AWS and Kubernetes: outputs, summary, annotations, files. */
export interface RunEnv {
  workspace: string;
  log: Logger;
  setOutput(name: string, value: string): void;
  writeSummary(markdown: string): Promise<void>;
  annotate(level: 'error' | 'warning', message: string, where?: { file: string; line?: number }): void;
  /** Where the plan file goes when the plan-dir input is empty. */
  tempDir: string;
  /** Head commit of the pull request or push, when known. */
  headSha?: string;
  /** Plain text to the terminal (the CLI) instead of the job summary. */
  print?(text: string): void;
  /** Who runs this (repository, run and actor; or user and host), written into the apply lock. */
  identity?: string;
  /**
   * Hides a secret (the OIDC token, the assumed role's keys) from the log. Unset, `@actions/core` does
   * it, writing `::add-mask::` to stdout; a CLI whose stdout is the plan passes one that writes to stderr.
   */
  mask?(secret: string): void;
  /**
   * Reports the failure that ends the run. Unset, `@actions/core` does (an `::error::` workflow
   * command, the stack as `::debug::`); the CLI in a terminal writes plain text instead.
   */
  fail?(message: string, stack?: string): void;
}

/** Everything a run needs, read and validated before any stage plans. */
export interface Prepared {
  config: LoadedConfig;
  cluster: ClusterConfig;
  manifests: ManifestObject[];
  aws: AwsClients;
  kube: KubePort;
  offline: { findings: Finding[]; notes: string[] };
}

function refuseIssues(env: RunEnv, what: string, issues: ConfigIssue[]): never {
  for (const i of issues)
    env.annotate('error', `${i.field ? `${i.field}: ` : ''}${i.message}${i.fix ? ` (${i.fix})` : ''}`, {
      file: i.file,
      line: i.line,
    });
  throw new Refusal(
    `${what}: ${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was changed`,
    issues.map(renderIssue),
  );
}

/**
 * Loads the config and manifests (all offline problems reported at once, before any AWS or Kubernetes
 * call), then connects to AWS and the cluster and fills the placeholders that need AWS. With `signal`,
 * every AWS, Kubernetes and helm call of the prepared run honours it (an apply's lock fence).
 */
export async function prepare(
  inputs: Inputs,
  env: RunEnv,
  opts: { signal?: AbortSignal } = {},
): Promise<Prepared> {
  const loaded = loadConfig(inputs.config, env.workspace);
  if (!loaded.config) refuseIssues(env, `invalid config ${inputs.config}`, loaded.issues);
  const config = loaded.config;
  let cluster: ClusterConfig;
  try {
    cluster = selectCluster(config, inputs.cluster);
  } catch (e) {
    throw new Refusal((e as Error).message);
  }
  const m = loadManifests(config, cluster, env.workspace);
  if (m.issues.length > 0) refuseIssues(env, `invalid manifests for ${cluster.cluster}`, m.issues);

  const region = inputs.awsRegion ?? cluster.region;
  const values: Record<string, string> = {
    CLUSTER_NAME: cluster.cluster,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    KARPENTER_VERSION: cluster.karpenter.version,
    KARPENTER_NAMESPACE: cluster.karpenter.namespace,
    ...cluster.variables,
  };
  const known = m.objects.map((o) => ({ ...o, obj: substitutePlaceholders(o.obj, values) }));
  const offline = await validateManifestsOffline(config, cluster, known, env.log);
  if (offline.issues.length > 0)
    refuseIssues(env, `invalid manifests for ${cluster.cluster}`, offline.issues);

  // Offline checks are done; from here on the run talks to AWS and the cluster.
  let credentials: (() => Promise<AwsCredentialsLike>) | undefined;
  let sessionArn: string | undefined;
  if (inputs.roleToAssume) {
    const mask = env.mask ? (secret: string) => env.mask?.(secret) : undefined;
    const oidc = await readOidcCredentials({
      roleArn: inputs.roleToAssume,
      sessionName: inputs.roleSessionName,
      region,
      mask,
      getIdToken: mask ? (audience) => readActionsIdToken(audience, mask) : undefined,
      log: env.log,
    });
    credentials = oidc.provider;
    sessionArn = oidc.principalArn;
    env.log.info(
      `acting as ${inputs.roleToAssume} (GitHub OIDC, session ${inputs.roleSessionName}, valid until ${oidc.expiration.toISOString()})`,
    );
  }
  const aws = buildAwsClients(region, credentials, opts.signal);
  const uses = (n: string) => m.placeholders.has(n);
  if (uses('AWS_ACCOUNT_ID') || uses('AWS_PARTITION')) {
    const who = await readAccountId(aws);
    values.AWS_ACCOUNT_ID = who.account;
    values.AWS_PARTITION = who.partition;
  }
  let k8sVersion: string | undefined;
  if (uses('K8S_VERSION') || uses('ALIAS_VERSION')) {
    k8sVersion = (await aws.eks.send(new DescribeClusterCommand({ name: cluster.cluster }))).cluster?.version;
    if (k8sVersion) values.K8S_VERSION = k8sVersion;
  }
  if (uses('ALIAS_VERSION') && k8sVersion)
    values.ALIAS_VERSION = await readAl2023AliasVersion(aws, k8sVersion);
  const manifests = known.map((o) => ({ ...o, obj: substitutePlaceholders(o.obj, values) }));

  let http: KubeHttp;
  let user: ClusterUser;
  if (inputs.kubeconfig) {
    http = new KubeHttp(loadKubeConfigFile(inputs.kubeconfig));
    user = await checkClusterAccess(http, { kind: 'kubeconfig', path: inputs.kubeconfig });
  } else {
    const eks = await readEksCluster(aws.eks, cluster.cluster);
    http = new KubeHttp(buildEksKubeConfig(eks, region, aws.credentials));
    user = await checkClusterAccess(http, {
      kind: 'eks',
      cluster: cluster.cluster,
      region,
      authenticationMode: eks.authenticationMode,
      callerArn: async () => sessionArn ?? (await readAccountId(aws)).arn,
      roleArn: inputs.roleToAssume,
    });
    if (user.username) env.log.debug(`the cluster sees this run as ${user.username}`);
  }
  if (inputs.command === 'apply') evaluateApplyIdentity(user);
  const kube = new KubeClient(http.withSignal(opts.signal));
  env.log.info(
    `cluster ${cluster.cluster} (${region}), Karpenter ${cluster.karpenter.version}, ${manifests.length} manifest objects`,
  );
  return {
    config,
    cluster,
    manifests,
    aws,
    kube,
    offline: { findings: offline.findings, notes: offline.notes },
  };
}
