export const id = 709;
export const ids = [709];
export const modules = {

/***/ 6709:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  flagsToInputs: () => (/* binding */ flagsToInputs)
});

// EXTERNAL MODULE: ./src/adapters/eks-token.ts
var eks_token = __webpack_require__(6925);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/config/load.ts
var load = __webpack_require__(1036);
// EXTERNAL MODULE: ./src/config/manifests.ts
var manifests = __webpack_require__(6896);
// EXTERNAL MODULE: ./src/config/issues.ts
var issues = __webpack_require__(1012);
// EXTERNAL MODULE: ./src/errors.ts
var src_errors = __webpack_require__(3916);
// EXTERNAL MODULE: ./src/manifests/v1beta1.ts
var v1beta1 = __webpack_require__(4032);
;// CONCATENATED MODULE: ./src/commands/convert.ts







/**
 * Converts the config's v1beta1 manifests to v1, file by file (placeholders kept as written). With
 * `write`, the files are replaced; comments in them are not carried over, which the report says.
 */
function runConvert(opts) {
    const loaded = (0,load/* loadConfig */.Z9)(opts.config, opts.workspace);
    if (!loaded.config)
        throw new src_errors/* Refusal */.P_(`invalid config ${opts.config}`, loaded.issues.map(issues/* renderIssue */.y));
    const cluster = (0,load/* selectCluster */.Nu)(loaded.config, opts.cluster);
    const m = (0,manifests/* loadManifests */.DD)(loaded.config, cluster, opts.workspace);
    if (m.issues.length > 0)
        throw new src_errors/* Refusal */.P_(`invalid manifests for ${cluster.cluster}`, m.issues.map(issues/* renderIssue */.y));
    const conv = (0,v1beta1/* convertV1beta1 */.E)(m.objects);
    const report = [
        ...conv.changes.map((c) => `${c.file}:${c.line}: ${c.ref} ${c.path}: ${c.message}`),
        ...conv.findings.map((f) => `${f.file}:${f.line}: ${f.level}: ${f.message} (${f.fix})`),
    ];
    const files = new Map();
    const legacyFiles = new Set(m.objects.filter((o) => o.legacy).map((o) => o.file));
    for (const file of legacyFiles) {
        files.set(file, (0,v1beta1/* renderV1Yaml */.J)(conv.converted.filter((o) => o.file === file)));
    }
    const errors = conv.findings.filter((f) => f.level === 'error').length;
    if (opts.write && errors === 0) {
        for (const [file, text] of files)
            (0,external_node_fs_.writeFileSync)((0,external_node_path_.resolve)(opts.workspace, file), text);
        if (files.size > 0)
            report.push(`wrote ${[...files.keys()].join(', ')} (comments in those files are not kept)`);
    }
    return { files, report, errors };
}

// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var dist = __webpack_require__(8815);
// EXTERNAL MODULE: ./src/adapters/kube.ts
var kube = __webpack_require__(6719);
// EXTERNAL MODULE: ./src/stages/prereqs.ts + 7 modules
var prereqs = __webpack_require__(5948);
// EXTERNAL MODULE: ./src/stages/prereqs/discovery-tags.ts
var discovery_tags = __webpack_require__(9582);
// EXTERNAL MODULE: ./src/stages/prereqs/planner-access.ts
var planner_access = __webpack_require__(75);
// EXTERNAL MODULE: ./src/stages/prereqs/pod-identity.ts
var pod_identity = __webpack_require__(5550);
// EXTERNAL MODULE: ./src/stages/prereqs/spot-role.ts
var spot_role = __webpack_require__(1527);
// EXTERNAL MODULE: ./src/versions/index.ts + 2 modules
var versions = __webpack_require__(6354);
;// CONCATENATED MODULE: ./src/commands/iam-policy.ts












/**
 * SDK commands that need no IAM permission: STS answers GetCallerIdentity for any caller, and
 * AssumeRoleWithWebIdentity is authorized by the assumed role's trust policy, not by the caller.
 */
const NO_PERMISSION_COMMANDS = (/* unused pure expression or super */ null && ([
    'client-sts:GetCallerIdentityCommand',
    'client-sts:AssumeRoleWithWebIdentityCommand',
]));
const ALL = () => ['*'];
const arn = (ctx, service, resource, global = false) => `arn:${ctx.partition}:${service}:${global ? '' : ctx.region}:${ctx.account}:${resource}`;
const eksSub = (ctx, kind, rest) => arn(ctx, 'eks', `${kind}/${ctx.cluster.cluster}/${rest}`);
const roles = (ctx) => [ctx.nodeRoleArn, ctx.controllerRoleArn];
const policies = (ctx) => ctx.controllerPolicyArns;
const addonArn = (ctx) => eksSub(ctx, 'addon', `${pod_identity/* POD_IDENTITY_AGENT */.Fs}/*`);
const associationArn = (ctx) => eksSub(ctx, 'podidentityassociation', '*');
const accessEntryArn = (ctx) => eksSub(ctx, 'access-entry', '*');
const nodegroupArn = (ctx) => eksSub(ctx, 'nodegroup', '*');
const oidcProviderArn = (ctx) => arn(ctx, 'iam', `oidc-provider/oidc.eks.${ctx.region}.amazonaws.com/id/*`, true);
const podIdentity = (ctx) => ctx.cluster.prereqs.identity === 'pod-identity';
const irsa = (ctx) => ctx.cluster.prereqs.identity === 'irsa';
const accessEntries = (ctx) => ctx.cluster.prereqs.nodeAccess !== 'aws-auth';
/**
 * Every IAM action behind every AWS call the action makes, so the plan and apply roles can be
 * written from data instead of from reading the code. A test scans `src/` for SDK commands and fails
 * when one is missing here. Reads are what a plan needs; the apply role gets reads and writes.
 */
const AWS_ACTIONS = [
    {
        action: 'eks:DescribeCluster',
        sdk: 'client-eks:DescribeClusterCommand',
        access: 'read',
        resource: (c) => [c.clusterArn],
    },
    {
        action: 'eks:ListNodegroups',
        sdk: 'client-eks:ListNodegroupsCommand',
        access: 'read',
        resource: (c) => [c.clusterArn],
    },
    {
        action: 'eks:DescribeNodegroup',
        sdk: 'client-eks:DescribeNodegroupCommand',
        access: 'read',
        resource: (c) => [nodegroupArn(c)],
    },
    {
        action: 'eks:DescribeAddon',
        sdk: 'client-eks:DescribeAddonCommand',
        access: 'read',
        resource: (c) => [addonArn(c)],
    },
    {
        action: 'eks:DescribeAccessEntry',
        sdk: 'client-eks:DescribeAccessEntryCommand',
        access: 'read',
        resource: (c) => [accessEntryArn(c)],
    },
    {
        action: 'eks:ListPodIdentityAssociations',
        sdk: 'client-eks:ListPodIdentityAssociationsCommand',
        access: 'read',
        resource: (c) => [c.clusterArn],
    },
    {
        action: 'eks:DescribePodIdentityAssociation',
        sdk: 'client-eks:DescribePodIdentityAssociationCommand',
        access: 'read',
        resource: (c) => [associationArn(c)],
    },
    {
        action: 'iam:GetRole',
        sdk: 'client-iam:GetRoleCommand',
        access: 'read',
        resource: (c) => [...roles(c), c.spotRoleArn],
    },
    {
        action: 'iam:ListAttachedRolePolicies',
        sdk: 'client-iam:ListAttachedRolePoliciesCommand',
        access: 'read',
        resource: roles,
    },
    { action: 'iam:GetPolicy', sdk: 'client-iam:GetPolicyCommand', access: 'read', resource: policies },
    {
        action: 'iam:GetPolicyVersion',
        sdk: 'client-iam:GetPolicyVersionCommand',
        access: 'read',
        resource: policies,
    },
    {
        action: 'iam:ListPolicyVersions',
        sdk: 'client-iam:ListPolicyVersionsCommand',
        access: 'read',
        resource: policies,
    },
    {
        action: 'iam:ListOpenIDConnectProviders',
        sdk: 'client-iam:ListOpenIDConnectProvidersCommand',
        access: 'read',
        resource: ALL,
    },
    {
        action: 'sqs:GetQueueUrl',
        sdk: 'client-sqs:GetQueueUrlCommand',
        access: 'read',
        resource: (c) => [c.queueArn],
    },
    {
        action: 'sqs:GetQueueAttributes',
        sdk: 'client-sqs:GetQueueAttributesCommand',
        access: 'read',
        resource: (c) => [c.queueArn],
    },
    {
        action: 'sqs:ListQueueTags',
        sdk: 'client-sqs:ListQueueTagsCommand',
        access: 'read',
        resource: (c) => [c.queueArn],
    },
    {
        action: 'events:DescribeRule',
        sdk: 'client-eventbridge:DescribeRuleCommand',
        access: 'read',
        resource: (c) => c.ruleArns,
    },
    {
        action: 'events:ListTargetsByRule',
        sdk: 'client-eventbridge:ListTargetsByRuleCommand',
        access: 'read',
        resource: (c) => c.ruleArns,
    },
    {
        action: 'events:ListTagsForResource',
        sdk: 'client-eventbridge:ListTagsForResourceCommand',
        access: 'read',
        resource: (c) => c.ruleArns,
    },
    { action: 'ec2:DescribeSubnets', sdk: 'client-ec2:DescribeSubnetsCommand', access: 'read', resource: ALL },
    {
        action: 'ec2:DescribeSecurityGroups',
        sdk: 'client-ec2:DescribeSecurityGroupsCommand',
        access: 'read',
        resource: ALL,
    },
    { action: 'ec2:DescribeTags', sdk: 'client-ec2:DescribeTagsCommand', access: 'read', resource: ALL },
    { action: 'ec2:DescribeImages', sdk: 'client-ec2:DescribeImagesCommand', access: 'read', resource: ALL },
    {
        action: 'ssm:GetParameter',
        sdk: 'client-ssm:GetParameterCommand',
        access: 'read',
        resource: (c) => [`arn:${c.partition}:ssm:${c.region}::parameter/aws/service/*`],
    },
    { action: 'iam:CreateRole', sdk: 'client-iam:CreateRoleCommand', access: 'write', resource: roles },
    { action: 'iam:TagRole', sdk: 'client-iam:CreateRoleCommand', access: 'write', resource: roles },
    { action: 'iam:TagRole', sdk: 'client-iam:TagRoleCommand', access: 'write', resource: roles },
    {
        action: 'iam:UpdateAssumeRolePolicy',
        sdk: 'client-iam:UpdateAssumeRolePolicyCommand',
        access: 'write',
        resource: roles,
    },
    {
        action: 'iam:AttachRolePolicy',
        sdk: 'client-iam:AttachRolePolicyCommand',
        access: 'write',
        resource: roles,
        condition: (c) => ({
            ArnEquals: { 'iam:PolicyARN': [...c.controllerPolicyArns, ...c.nodeManagedPolicyArns] },
        }),
    },
    { action: 'iam:CreatePolicy', sdk: 'client-iam:CreatePolicyCommand', access: 'write', resource: policies },
    { action: 'iam:TagPolicy', sdk: 'client-iam:CreatePolicyCommand', access: 'write', resource: policies },
    { action: 'iam:TagPolicy', sdk: 'client-iam:TagPolicyCommand', access: 'write', resource: policies },
    {
        action: 'iam:CreatePolicyVersion',
        sdk: 'client-iam:CreatePolicyVersionCommand',
        access: 'write',
        resource: policies,
    },
    {
        action: 'iam:DeletePolicyVersion',
        sdk: 'client-iam:DeletePolicyVersionCommand',
        access: 'write',
        resource: policies,
    },
    {
        action: 'iam:CreateServiceLinkedRole',
        sdk: 'client-iam:CreateServiceLinkedRoleCommand',
        access: 'write',
        resource: (c) => [c.spotRoleArn],
        condition: () => ({ StringEquals: { 'iam:AWSServiceName': 'spot.amazonaws.com' } }),
        when: (c) => c.cluster.prereqs.spotRole !== 'never',
    },
    {
        action: 'iam:CreateOpenIDConnectProvider',
        sdk: 'client-iam:CreateOpenIDConnectProviderCommand',
        access: 'write',
        resource: (c) => [oidcProviderArn(c)],
        when: irsa,
    },
    {
        action: 'iam:TagOpenIDConnectProvider',
        sdk: 'client-iam:CreateOpenIDConnectProviderCommand',
        access: 'write',
        resource: (c) => [oidcProviderArn(c)],
        when: irsa,
    },
    ...['CreatePodIdentityAssociation', 'UpdatePodIdentityAssociation'].map((op) => ({
        action: 'iam:PassRole',
        sdk: `client-eks:${op}Command`,
        access: 'write',
        resource: (c) => [c.controllerRoleArn],
        condition: () => ({ StringEquals: { 'iam:PassedToService': 'pods.eks.amazonaws.com' } }),
        when: podIdentity,
    })),
    {
        action: 'eks:CreateAddon',
        sdk: 'client-eks:CreateAddonCommand',
        access: 'write',
        resource: (c) => [c.clusterArn, addonArn(c)],
        when: podIdentity,
    },
    {
        action: 'eks:TagResource',
        sdk: 'client-eks:CreateAddonCommand',
        access: 'write',
        resource: (c) => [addonArn(c)],
        when: podIdentity,
    },
    {
        action: 'eks:CreatePodIdentityAssociation',
        sdk: 'client-eks:CreatePodIdentityAssociationCommand',
        access: 'write',
        resource: (c) => [c.clusterArn, associationArn(c)],
        when: podIdentity,
    },
    {
        action: 'eks:TagResource',
        sdk: 'client-eks:CreatePodIdentityAssociationCommand',
        access: 'write',
        resource: (c) => [associationArn(c)],
        when: podIdentity,
    },
    {
        action: 'eks:UpdatePodIdentityAssociation',
        sdk: 'client-eks:UpdatePodIdentityAssociationCommand',
        access: 'write',
        resource: (c) => [associationArn(c)],
        when: podIdentity,
    },
    {
        action: 'eks:CreateAccessEntry',
        sdk: 'client-eks:CreateAccessEntryCommand',
        access: 'write',
        resource: (c) => [c.clusterArn, accessEntryArn(c)],
        when: accessEntries,
    },
    {
        action: 'eks:TagResource',
        sdk: 'client-eks:CreateAccessEntryCommand',
        access: 'write',
        resource: (c) => [accessEntryArn(c)],
        when: accessEntries,
    },
    {
        action: 'eks:UpdateNodegroupConfig',
        sdk: 'client-eks:UpdateNodegroupConfigCommand',
        access: 'write',
        resource: (c) => [nodegroupArn(c)],
        when: (c) => c.cluster.install.migration.enabled,
    },
    {
        action: 'ec2:CreateTags',
        sdk: 'client-ec2:CreateTagsCommand',
        access: 'write',
        resource: (c) => [arn(c, 'ec2', 'subnet/*'), arn(c, 'ec2', 'security-group/*')],
        condition: (c) => ({
            'ForAllValues:StringEquals': { 'aws:TagKeys': c.discoveryTagKeys },
            Null: { 'aws:TagKeys': 'false' },
        }),
    },
    {
        action: 'sqs:CreateQueue',
        sdk: 'client-sqs:CreateQueueCommand',
        access: 'write',
        resource: (c) => [c.queueArn],
    },
    {
        action: 'sqs:TagQueue',
        sdk: 'client-sqs:CreateQueueCommand',
        access: 'write',
        resource: (c) => [c.queueArn],
    },
    {
        action: 'sqs:SetQueueAttributes',
        sdk: 'client-sqs:SetQueueAttributesCommand',
        access: 'write',
        resource: (c) => [c.queueArn],
    },
    {
        action: 'sqs:TagQueue',
        sdk: 'client-sqs:TagQueueCommand',
        access: 'write',
        resource: (c) => [c.queueArn],
    },
    {
        action: 'events:PutRule',
        sdk: 'client-eventbridge:PutRuleCommand',
        access: 'write',
        resource: (c) => c.ruleArns,
    },
    {
        action: 'events:TagResource',
        sdk: 'client-eventbridge:PutRuleCommand',
        access: 'write',
        resource: (c) => c.ruleArns,
    },
    {
        action: 'events:TagResource',
        sdk: 'client-eventbridge:TagResourceCommand',
        access: 'write',
        resource: (c) => c.ruleArns,
    },
    {
        action: 'events:PutTargets',
        sdk: 'client-eventbridge:PutTargetsCommand',
        access: 'write',
        resource: (c) => c.ruleArns,
    },
];
/** The names the printed access-entry commands use for the two roles; any name works if the commands use it. */
const SUGGESTED_ROLE_NAMES = {
    plan: 'karpenter-action-plan',
    apply: 'karpenter-action-apply',
};
/** The EKS access policy of the apply role, which installs charts, CRDs and RBAC. The plan role gets none. */
const CLUSTER_ADMIN_ACCESS_POLICY = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';
/** GitHub's OIDC issuer, the prefix of its claim keys in AWS trust conditions. */
const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
/** The ARNs a cluster's config gives its prerequisites, from the same code the prereqs stage uses. */
function buildIamPolicyContext(cluster, opts) {
    const partition = opts.partition ?? 'aws';
    const d = (0,prereqs/* buildPrereqsDesired */.jX)({ cluster }, { account: opts.account, partition, region: cluster.region }, {});
    const rules = (0,versions/* buildInterruptionRules */.NT)(cluster.karpenter.version, cluster.cluster);
    const region = cluster.region;
    return {
        partition,
        account: opts.account,
        region,
        cluster,
        clusterArn: `arn:${partition}:eks:${region}:${opts.account}:cluster/${cluster.cluster}`,
        nodeRoleArn: d.nodeRoleArn,
        controllerRoleArn: d.controllerRoleArn,
        controllerPolicyArns: d.controllerPolicies.map((p) => p.arn),
        nodeManagedPolicyArns: d.nodeRole.attach,
        queueArn: d.queueArn,
        ruleArns: rules.map((r) => `arn:${partition}:events:${region}:${opts.account}:rule/${r.name}`),
        spotRoleArn: `arn:${partition}:iam::${opts.account}:role/aws-service-role/spot.amazonaws.com/${spot_role/* SPOT_ROLE */.i7}`,
        discoveryTagKeys: [...new Set([discovery_tags/* DISCOVERY_TAG */.yl, ...(opts.discoveryTagKeys ?? [])])].sort(),
    };
}
const SERVICE_NAMES = {
    eks: 'Eks',
    iam: 'Iam',
    ec2: 'Ec2',
    sqs: 'Sqs',
    events: 'EventBridge',
    ssm: 'Ssm',
};
/**
 * The permission policy of the plan role (reads only) or the apply role (reads and writes), for one
 * cluster. Actions that share a service, resources and conditions share a statement, so the document
 * stays short enough to read in review and well under IAM's size limit.
 */
function buildPermissionsPolicy(ctx, role) {
    const groups = new Map();
    for (const a of AWS_ACTIONS) {
        if (role === 'plan' && a.access !== 'read')
            continue;
        if (a.when && !a.when(ctx))
            continue;
        const resource = [...new Set(a.resource(ctx))].sort();
        const condition = a.condition?.(ctx);
        const service = a.action.split(':')[0];
        // A read allowed on more resources of another type than it acts on grants nothing more, so reads
        // of one service share a statement; writes keep exactly their own resources.
        const scope = a.access === 'read' ? (resource.includes('*') ? '*' : 'scoped') : resource;
        const key = JSON.stringify([a.access, service, scope, condition ?? null]);
        const g = groups.get(key) ?? {
            access: a.access,
            service,
            actions: new Set(),
            resource: [],
            condition,
        };
        g.actions.add(a.action);
        g.resource = [...new Set([...g.resource, ...resource])].sort();
        groups.set(key, g);
    }
    const used = new Map();
    const Statement = [...groups.values()].map((g) => {
        const base = `${g.access === 'read' ? 'Read' : 'Write'}${SERVICE_NAMES[g.service] ?? g.service}`;
        const n = (used.get(base) ?? 0) + 1;
        used.set(base, n);
        return {
            Sid: n === 1 ? base : `${base}${n}`,
            Effect: 'Allow',
            Action: [...g.actions].sort(),
            Resource: g.resource.length === 1 ? g.resource[0] : g.resource,
            ...(g.condition ? { Condition: g.condition } : {}),
        };
    });
    return { Version: '2012-10-17', Statement };
}
/**
 * Who may assume each role: the plan role only from `pull_request` runs of the repository and from
 * runs on its default branch (the scheduled drift check), the apply role only from jobs of the
 * protected environment, so an approval gate stands between a pull request and any write.
 */
function buildTrustPolicy(input) {
    const sub = input.role === 'plan'
        ? [
            `repo:${input.repository}:pull_request`,
            `repo:${input.repository}:ref:refs/heads/${input.defaultBranch ?? 'main'}`,
        ]
        : `repo:${input.repository}:environment:${input.environment}`;
    return {
        Version: '2012-10-17',
        Statement: [
            {
                Sid: input.role === 'plan' ? 'GitHubPullRequests' : 'GitHubProtectedEnvironment',
                Effect: 'Allow',
                Principal: {
                    Federated: `arn:${input.partition ?? 'aws'}:iam::${input.account}:oidc-provider/${GITHUB_OIDC_HOST}`,
                },
                Action: 'sts:AssumeRoleWithWebIdentity',
                Condition: {
                    StringEquals: {
                        [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com',
                        [`${GITHUB_OIDC_HOST}:sub`]: sub,
                    },
                },
            },
        ],
    };
}
/** Everything a team needs to create the action's two roles for one cluster, as one document. */
function buildIamPolicyDocument(cluster, opts) {
    const ctx = buildIamPolicyContext(cluster, {
        account: opts.account,
        discoveryTagKeys: opts.discoveryTagKeys,
    });
    const roles = opts.role === 'both' ? ['plan', 'apply'] : [opts.role];
    const doc = {
        cluster: cluster.cluster,
        region: cluster.region,
    };
    const principals = {};
    const commands = [];
    const awsAuth = [];
    for (const r of roles) {
        doc[r] = {
            permissions: buildPermissionsPolicy(ctx, r),
            trust: buildTrustPolicy({
                account: opts.account,
                repository: opts.repository,
                role: r,
                environment: opts.environment,
                defaultBranch: opts.defaultBranch,
            }),
        };
        const principal = `arn:${ctx.partition}:iam::${opts.account}:role/${SUGGESTED_ROLE_NAMES[r]}`;
        principals[r] = principal;
        const common = `--cluster-name ${cluster.cluster} --region ${cluster.region} --principal-arn ${principal}`;
        if (r === 'plan') {
            commands.push(`aws eks create-access-entry ${common} --type STANDARD --kubernetes-groups ${planner_access/* PLANNER_GROUP */.rM}`);
            awsAuth.push({ rolearn: principal, username: planner_access/* PLANNER_USERNAME */.Ci, groups: [planner_access/* PLANNER_GROUP */.rM] });
        }
        else {
            commands.push(`aws eks create-access-entry ${common} --type STANDARD`, `aws eks associate-access-policy ${common} --policy-arn ${CLUSTER_ADMIN_ACCESS_POLICY} --access-scope type=cluster`);
            awsAuth.push({ rolearn: principal, username: 'karpenter-action', groups: ['system:masters'] });
        }
    }
    return {
        ...doc,
        kubernetes: {
            accessPolicyArn: CLUSTER_ADMIN_ACCESS_POLICY,
            accessScope: { type: 'cluster' },
            principals,
            reason: `the apply role installs charts, CRDs and RBAC, so it is cluster admin; the plan role is mapped to the group ${planner_access/* PLANNER_GROUP */.rM}, whose ClusterRole ${planner_access/* PLANNER_ROLE */.It} reads what a plan reads and may create and patch the kinds a plan dry-runs, while the ValidatingAdmissionPolicy ${planner_access/* PLANNER_POLICY */.ah} refuses every write from that group that is not a dry-run; it reads no Secret`,
            commands,
            awsAuth,
            ...(principals.plan ? { planner: buildPlannerBootstrap(cluster.cluster, opts.configPath) } : {}),
        },
    };
}
/** The planner objects and how an admin applies them once; afterwards the prereqs stage keeps them. */
function buildPlannerBootstrap(cluster, configPath) {
    const config = configPath && configPath !== DEFAULT_CONFIG ? ` --config ${configPath}` : '';
    return {
        group: planner_access/* PLANNER_GROUP */.rM,
        clusterRole: planner_access/* PLANNER_ROLE */.It,
        policy: planner_access/* PLANNER_POLICY */.ah,
        manifests: { apiVersion: 'v1', kind: 'List', items: (0,planner_access/* buildPlannerObjects */.JJ)(true) },
        commands: [
            `karpenter-action iam-policy${config} --cluster ${cluster} --format manifests | kubectl apply --server-side --field-manager=${kube/* FIELD_MANAGER */.vy} -f -`,
        ],
    };
}
/** The planner objects as multi-document YAML, policy first (`--format manifests`). */
function renderPlannerManifests() {
    return (0,planner_access/* buildPlannerObjects */.JJ)(true)
        .map((o) => (0,dist/* stringify */.As)(o, { lineWidth: 0 }))
        .join('---\n');
}
const json = (v) => JSON.stringify(v, null, 2);
/** IAM counts a policy's characters without whitespace: 6,144 for a managed policy, 10,240 for a role's inline ones. */
const MANAGED_POLICY_LIMIT = 6144;
const INLINE_POLICY_LIMIT = 10240;
/** A policy's size as IAM counts it. */
function policySize(doc) {
    return JSON.stringify(doc).replace(/\s/g, '').length;
}
function sizeNote(doc) {
    const n = policySize(doc);
    if (n <= MANAGED_POLICY_LIMIT)
        return [];
    return [
        `(${n} characters: over the ${MANAGED_POLICY_LIMIT} of a managed policy, so attach it inline with aws iam put-role-policy)`,
    ];
}
/** The document for a terminal: each policy as JSON under a heading, then the Kubernetes access as commands. */
function renderIamPolicyText(doc, opts) {
    const out = [];
    const describe = {
        plan: `Plan role (read-only), assumable from pull_request runs of ${opts.repository}`,
        apply: `Apply role (writes), assumable only from jobs in the GitHub Environment "${opts.environment}" of ${opts.repository}`,
    };
    for (const r of ['plan', 'apply']) {
        const p = doc[r];
        if (!p)
            continue;
        out.push(`# ${describe[r]}`, `# cluster ${doc.cluster} (${doc.region})`, '', '## Permissions policy', ...sizeNote(p.permissions), json(p.permissions), '', '## Trust policy', json(p.trust), '');
    }
    const k = doc.kubernetes;
    out.push('# Kubernetes access', '', ...(k.principals.apply
        ? [
            `Apply role: an EKS access entry with AmazonEKSClusterAdminPolicy at cluster scope; it installs charts, CRDs and RBAC.`,
        ]
        : []), ...(k.principals.plan
        ? [
            `Plan role: an EKS access entry with the Kubernetes group ${planner_access/* PLANNER_GROUP */.rM} and no access policy. The group is bound to the ClusterRole ${planner_access/* PLANNER_ROLE */.It}: reads of what a plan reads, and create/patch on the kinds a plan diffs by server-side-apply dry-run. The ValidatingAdmissionPolicy ${planner_access/* PLANNER_POLICY */.ah} refuses every write from the group that is not a dry-run. It reads no Secret.`,
        ]
        : []), `The role names below are suggestions (${Object.values(SUGGESTED_ROLE_NAMES).join(', ')}); use the names you create.`, '', ...k.commands, '', `On a cluster whose authentication mode is CONFIG_MAP, add these entries to mapRoles of the aws-auth ConfigMap in kube-system instead (role ARNs there carry no path):`, '', (0,dist/* stringify */.As)(k.awsAuth, { lineWidth: 0 }).trimEnd(), '');
    if (k.planner) {
        out.push('# Planner objects', '', `Once, by a cluster admin, before the first plan with the plan role: the ClusterRole ${planner_access/* PLANNER_ROLE */.It} and its binding, the ValidatingAdmissionPolicy ${planner_access/* PLANNER_POLICY */.ah} and its binding. Applied with the field manager ${kube/* FIELD_MANAGER */.vy}, the action's prereqs stage owns them from then on: later plans show them unchanged, and drift checks watch them.`, `They need Kubernetes ${planner_access/* POLICY_MIN_KUBERNETES */.hk} or later (kubectl version): older clusters serve no ValidatingAdmissionPolicy, and without it the role's dry-run verbs would be write verbs, so apply nothing here on such a cluster; plan with the apply role until the control plane is upgraded.`, '', ...k.planner.commands, '', 'or, the same objects:', '', `kubectl apply --server-side --field-manager=${kube/* FIELD_MANAGER */.vy} -f - <<'EOF'`, renderPlannerManifests().trimEnd(), 'EOF', '');
    }
    if (doc.plan) {
        out.push(`The plan role's trust also admits runs on the default branch (${opts.defaultBranch ?? 'main'}; --default-branch), which the scheduled drift check needs.`, '');
    }
    return out.join('\n');
}
const DEFAULT_CONFIG = '.github/karpenter.yaml';
const ACCOUNT_ID = /^\d{12}$/;
const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const ENVIRONMENT = /^[^\s:'"`]{1,255}$/;
/** The `iam-policy` command: reads the config (offline) and prints both roles' policies for one cluster. */
function runIamPolicy(opts) {
    const env = opts.env ?? process.env;
    const problems = [];
    const role = opts.role ?? 'both';
    if (role !== 'plan' && role !== 'apply' && role !== 'both')
        problems.push(`--role is "${role}"; use plan, apply or both`);
    const format = opts.format ?? 'text';
    if (format !== 'text' && format !== 'json' && format !== 'manifests')
        problems.push(`--format is "${format}"; use text, json or manifests`);
    const account = opts.accountId ?? '<ACCOUNT_ID>';
    if (opts.accountId !== undefined && !ACCOUNT_ID.test(opts.accountId))
        problems.push(`--account-id "${opts.accountId}" is not a 12-digit AWS account id`);
    const repository = opts.repository ?? env.GITHUB_REPOSITORY ?? '<OWNER>/<REPO>';
    if ((opts.repository ?? env.GITHUB_REPOSITORY) !== undefined && !REPOSITORY.test(repository))
        problems.push(`repository "${repository}" is not owner/repo`);
    const environment = opts.environment ?? 'karpenter-apply';
    if (!ENVIRONMENT.test(environment))
        problems.push(`--environment "${environment}" is not a GitHub Environment name`);
    if (opts.defaultBranch !== undefined && !/^[^\s:]{1,255}$/.test(opts.defaultBranch))
        problems.push(`--default-branch "${opts.defaultBranch}" is not a branch name`);
    if (problems.length > 0)
        throw new src_errors/* Refusal */.P_('iam-policy: invalid flags', problems);
    const configPath = opts.config ?? DEFAULT_CONFIG;
    const loaded = (0,load/* loadConfig */.Z9)(configPath, opts.workspace);
    if (!loaded.config)
        throw new src_errors/* Refusal */.P_(`invalid config ${configPath}`, loaded.issues.map(issues/* renderIssue */.y));
    let cluster;
    try {
        cluster = (0,load/* selectCluster */.Nu)(loaded.config, opts.cluster);
    }
    catch (e) {
        throw new src_errors/* Refusal */.P_(e.message);
    }
    const m = (0,manifests/* loadManifests */.DD)(loaded.config, cluster, opts.workspace);
    const nodeClasses = m.objects.filter((o) => o.obj.kind === 'EC2NodeClass' && !o.legacy).map((o) => o.obj);
    const wanted = (0,discovery_tags/* buildDiscoveryTags */.qx)(cluster.cluster, nodeClasses);
    const options = {
        role: role,
        configPath,
        account,
        repository,
        environment,
        defaultBranch: opts.defaultBranch ?? 'main',
        discoveryTagKeys: [...Object.keys(wanted.subnets), ...Object.keys(wanted.securityGroups)],
    };
    const document = buildIamPolicyDocument(cluster, options);
    const output = format === 'json'
        ? `${json(document)}\n`
        : format === 'manifests'
            ? renderPlannerManifests()
            : renderIamPolicyText(document, options);
    return { output, document };
}

// EXTERNAL MODULE: ./src/adapters/aws-credentials.ts
var aws_credentials = __webpack_require__(8678);
// EXTERNAL MODULE: ./src/main.ts + 916 modules
var main = __webpack_require__(1778);
// EXTERNAL MODULE: ./src/inputs.ts
var inputs = __webpack_require__(8422);
;// CONCATENATED MODULE: ./src/cli.ts







const USAGE = `usage: karpenter-action <command> [flags]

commands:
  plan | apply | drift | verify   the action's commands; flags are the action's inputs (--config, --cluster,
                                  --stages, --fingerprint, --aws-region, --kubeconfig, --comment, ...)
  convert [--config <path>] [--cluster <name>] [--write]
                                  show (or write) the v1 form of v1beta1 NodePools and EC2NodeClasses
  token --cluster <name> [--region <region>]
                                  print an EKS token as a kubectl ExecCredential (like aws eks get-token)
  iam-policy [--config <path>] [--cluster <name>] [--role plan|apply|both] [--account-id <12 digits>]
             [--repository owner/repo] [--environment <name>] [--default-branch <name>]
             [--format text|json|manifests]
                                  print the IAM permission and trust policies of the read-only plan role and
                                  the apply role, the EKS access entries both need, and the planner objects
                                  (manifests: those objects alone, for kubectl apply --server-side)
`;
/** Turns `--name value` / `--name=value` flags into the action's INPUT_* form, so both entries share one parser. */
function flagsToInputs(args) {
    const out = {};
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (!a.startsWith('--'))
            throw new Error(`unexpected argument "${a}"\n\n${USAGE}`);
        const eq = a.indexOf('=');
        if (eq > 0) {
            out[a.slice(2, eq)] = a.slice(eq + 1);
        }
        else {
            const next = args[i + 1];
            if (next === undefined || next.startsWith('--'))
                out[a.slice(2)] = 'true';
            else {
                out[a.slice(2)] = next;
                i++;
            }
        }
    }
    return out;
}
async function cli_main(argv) {
    const [command, ...rest] = argv;
    if (!command || command === '--help' || command === '-h' || command === 'help') {
        process.stdout.write(USAGE);
        return command ? 0 : 2;
    }
    const flags = flagsToInputs(rest);
    if (command === 'token') {
        const cluster = flags.cluster;
        const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
        if (!cluster || !region)
            throw new Error('token needs --cluster and --region (or AWS_REGION)');
        const t = await (0,eks_token/* buildEksToken */.z)({
            clusterName: cluster,
            region,
            credentials: await (0,aws_credentials/* defaultCredentials */.AD)(region)(),
        });
        process.stdout.write(`${JSON.stringify({
            kind: 'ExecCredential',
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            spec: {},
            status: { expirationTimestamp: t.expiresAt.toISOString(), token: t.token },
        })}\n`);
        return 0;
    }
    if (command === 'convert') {
        const r = runConvert({
            config: flags.config ?? '.github/karpenter.yaml',
            cluster: flags.cluster,
            workspace: process.cwd(),
            write: flags.write === 'true',
        });
        for (const line of r.report)
            process.stderr.write(`${line}\n`);
        if (r.files.size === 0)
            process.stderr.write('no v1beta1 manifests found\n');
        if (flags.write !== 'true')
            for (const [file, text] of r.files)
                process.stdout.write(`# ${file}\n${text}`);
        return r.errors > 0 ? 1 : 0;
    }
    if (command === 'iam-policy') {
        try {
            const r = runIamPolicy({
                config: flags.config,
                cluster: flags.cluster,
                role: flags.role,
                accountId: flags['account-id'],
                repository: flags.repository,
                environment: flags.environment,
                defaultBranch: flags['default-branch'],
                format: flags.format,
                workspace: process.cwd(),
            });
            process.stdout.write(r.output);
            return 0;
        }
        catch (e) {
            if (!(e instanceof src_errors/* Refusal */.P_))
                throw e;
            process.stderr.write(`${e.message}\n${e.details.map((d) => `  - ${d}\n`).join('')}`);
            return 1;
        }
    }
    if (!inputs/* COMMANDS */.Lo.includes(command)) {
        process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
    for (const [k, v] of Object.entries(flags))
        process.env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
    process.env.INPUT_COMMAND = command;
    await (0,main/* run */.eF)(main/* COMMAND_RUNNERS */.Q_, (0,main/* cliEnv */.KE)());
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
}
cli_main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
}, (err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
});


/***/ })

};
