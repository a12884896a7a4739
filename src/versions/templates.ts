import type { PolicyDocument, PolicyStatement } from './policy.ts';

/**
 * The values a template row is filled with. In the statements below they appear as `{partition}`,
 * `{region}`, `{accountId}`, `{clusterName}`, `{nodeRoleArn}` and `{queueArn}`, standing for the
 * template's `${AWS::Partition}`, `${AWS::Region}`, `${AWS::AccountId}`, `${ClusterName}`,
 * `${KarpenterNodeRole.Arn}` and `${KarpenterInterruptionQueue.Arn}`.
 */
export interface TemplateParams {
  partition: string;
  region: string;
  accountId: string;
  clusterName: string;
  nodeRoleArn: string;
  queueArn: string;
}

/** Where a row's facts come from, so the plan and the tests can say whether a row was read or derived. */
export interface TemplateSource {
  origin: 'read' | 'derived';
  repository: 'aws/karpenter-provider-aws';
  file: string;
  commit: string;
  fixture: string;
  /** For derived rows: what was changed on the base template above, and on what authority. */
  derivation?: readonly string[];
}

/** A controller managed policy: its name is `<namePrefix>-<cluster>`. */
export interface ControllerPolicyData {
  logicalId: string;
  namePrefix: string;
  statements: readonly PolicyStatement[];
}

/** An EventBridge rule sending one kind of interruption event to the queue. */
export interface InterruptionRuleData {
  logicalId: string;
  source: string;
  detailType: string;
}

/** The interruption queue: its attributes as SQS strings and its access policy. */
export interface QueueData {
  attributes: Readonly<Record<string, string>>;
  policy: PolicyDocument;
}

export type NodeRoleTrust = 'ec2' | 'ec2-and-pod-identity';

/** Everything the prereqs stage needs from one distinct getting-started template. */
export interface TemplateRow {
  id: string;
  /** The Karpenter minor versions (`1.4`, `1.5`, ...) whose template this row is. */
  minors: readonly string[];
  source: TemplateSource;
  nodeRoleManagedPolicies: readonly string[];
  /** Services the node role trusts: EC2 always; the 1.14 template adds EKS Pod Identity (kept for 1.15). */
  nodeRoleTrust: NodeRoleTrust;
  controllerPolicies: readonly ControllerPolicyData[];
  interruptionRules: readonly InterruptionRuleData[];
  queue: QueueData;
}

const GETTING_STARTED = 'getting-started/getting-started-with-karpenter/cloudformation.yaml';

const accessActions = (extra: readonly string[]): PolicyStatement => ({
  Sid: 'AllowScopedEC2InstanceAccessActions',
  Effect: 'Allow',
  Resource: [
    'arn:{partition}:ec2:{region}::image/*',
    'arn:{partition}:ec2:{region}::snapshot/*',
    'arn:{partition}:ec2:{region}:*:security-group/*',
    'arn:{partition}:ec2:{region}:*:subnet/*',
    ...extra,
  ],
  Action: ['ec2:RunInstances', 'ec2:CreateFleet'],
});
const CAPACITY_RESERVATION_ARN = 'arn:{partition}:ec2:{region}:*:capacity-reservation/*';
const PLACEMENT_GROUP_ARN = 'arn:{partition}:ec2:{region}:*:placement-group/*';

const LAUNCH_TEMPLATE_ACCESS: PolicyStatement = {
  Sid: 'AllowScopedEC2LaunchTemplateAccessActions',
  Effect: 'Allow',
  Resource: 'arn:{partition}:ec2:{region}:*:launch-template/*',
  Action: ['ec2:RunInstances', 'ec2:CreateFleet'],
  Condition: {
    StringEquals: { 'aws:ResourceTag/kubernetes.io/cluster/{clusterName}': 'owned' },
    StringLike: { 'aws:ResourceTag/karpenter.sh/nodepool': '*' },
  },
};

const CREATED_RESOURCES = [
  'arn:{partition}:ec2:{region}:*:fleet/*',
  'arn:{partition}:ec2:{region}:*:instance/*',
  'arn:{partition}:ec2:{region}:*:volume/*',
  'arn:{partition}:ec2:{region}:*:network-interface/*',
  'arn:{partition}:ec2:{region}:*:launch-template/*',
  'arn:{partition}:ec2:{region}:*:spot-instances-request/*',
];

const actionsWithTags = (extra: readonly string[]): PolicyStatement => ({
  Sid: 'AllowScopedEC2InstanceActionsWithTags',
  Effect: 'Allow',
  Resource: [...CREATED_RESOURCES, ...extra],
  Action: ['ec2:RunInstances', 'ec2:CreateFleet', 'ec2:CreateLaunchTemplate'],
  Condition: {
    StringEquals: {
      'aws:RequestTag/kubernetes.io/cluster/{clusterName}': 'owned',
      'aws:RequestTag/eks:eks-cluster-name': '{clusterName}',
    },
    StringLike: { 'aws:RequestTag/karpenter.sh/nodepool': '*' },
  },
});

const RESOURCE_CREATION_TAGGING: PolicyStatement = {
  Sid: 'AllowScopedResourceCreationTagging',
  Effect: 'Allow',
  Resource: CREATED_RESOURCES,
  Action: 'ec2:CreateTags',
  Condition: {
    StringEquals: {
      'aws:RequestTag/kubernetes.io/cluster/{clusterName}': 'owned',
      'aws:RequestTag/eks:eks-cluster-name': '{clusterName}',
      'ec2:CreateAction': ['RunInstances', 'CreateFleet', 'CreateLaunchTemplate'],
    },
    StringLike: { 'aws:RequestTag/karpenter.sh/nodepool': '*' },
  },
};

const RESOURCE_TAGGING: PolicyStatement = {
  Sid: 'AllowScopedResourceTagging',
  Effect: 'Allow',
  Resource: 'arn:{partition}:ec2:{region}:*:instance/*',
  Action: 'ec2:CreateTags',
  Condition: {
    StringEquals: { 'aws:ResourceTag/kubernetes.io/cluster/{clusterName}': 'owned' },
    StringLike: { 'aws:ResourceTag/karpenter.sh/nodepool': '*' },
    StringEqualsIfExists: { 'aws:RequestTag/eks:eks-cluster-name': '{clusterName}' },
    'ForAllValues:StringEquals': {
      'aws:TagKeys': ['eks:eks-cluster-name', 'karpenter.sh/nodeclaim', 'Name'],
    },
  },
};

const SCOPED_DELETION: PolicyStatement = {
  Sid: 'AllowScopedDeletion',
  Effect: 'Allow',
  Resource: ['arn:{partition}:ec2:{region}:*:instance/*', 'arn:{partition}:ec2:{region}:*:launch-template/*'],
  Action: ['ec2:TerminateInstances', 'ec2:DeleteLaunchTemplate'],
  Condition: {
    StringEquals: { 'aws:ResourceTag/kubernetes.io/cluster/{clusterName}': 'owned' },
    StringLike: { 'aws:ResourceTag/karpenter.sh/nodepool': '*' },
  },
};

/**
 * 1.15: AllowScopedDeletion also allows ec2:RebootInstances (same resources and conditions), which the
 * controller calls to reboot a node in place for node repair behind the RebootForRepair AWS feature gate.
 */
const SCOPED_DELETION_1_15: PolicyStatement = {
  ...SCOPED_DELETION,
  Action: ['ec2:TerminateInstances', 'ec2:RebootInstances', 'ec2:DeleteLaunchTemplate'],
};

const regionalRead = (actions: readonly string[]): PolicyStatement => ({
  Sid: 'AllowRegionalReadActions',
  Effect: 'Allow',
  Resource: '*',
  Action: [...actions],
  Condition: { StringEquals: { 'aws:RequestedRegion': '{region}' } },
});

const READ_ACTIONS_1_1 = [
  'ec2:DescribeImages',
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceTypeOfferings',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeLaunchTemplates',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSpotPriceHistory',
  'ec2:DescribeSubnets',
];
const READ_ACTIONS_1_0 = ['ec2:DescribeAvailabilityZones', ...READ_ACTIONS_1_1];
const READ_ACTIONS_1_3 = ['ec2:DescribeCapacityReservations', ...READ_ACTIONS_1_1];
const READ_ACTIONS_1_11 = [
  'ec2:DescribeCapacityReservations',
  'ec2:DescribeImages',
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceTypeOfferings',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeLaunchTemplates',
  'ec2:DescribePlacementGroups',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSpotPriceHistory',
  'ec2:DescribeSubnets',
];
const READ_ACTIONS_1_13 = [
  'ec2:DescribeCapacityReservations',
  'ec2:DescribeImages',
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceStatus',
  'ec2:DescribeInstanceTypeOfferings',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeLaunchTemplates',
  'ec2:DescribePlacementGroups',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSpotPriceHistory',
  'ec2:DescribeSubnets',
];

const SSM_READ: PolicyStatement = {
  Sid: 'AllowSSMReadActions',
  Effect: 'Allow',
  Resource: 'arn:{partition}:ssm:{region}::parameter/aws/service/*',
  Action: 'ssm:GetParameter',
};

const PRICING_READ: PolicyStatement = {
  Sid: 'AllowPricingReadActions',
  Effect: 'Allow',
  Resource: '*',
  Action: 'pricing:GetProducts',
};

const INTERRUPTION_QUEUE_ACCESS: PolicyStatement = {
  Sid: 'AllowInterruptionQueueActions',
  Effect: 'Allow',
  Resource: '{queueArn}',
  Action: ['sqs:DeleteMessage', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
};

const PASS_NODE_ROLE: PolicyStatement = {
  Sid: 'AllowPassingInstanceRole',
  Effect: 'Allow',
  Resource: '{nodeRoleArn}',
  Action: 'iam:PassRole',
  Condition: { StringEquals: { 'iam:PassedToService': ['ec2.amazonaws.com', 'ec2.amazonaws.com.cn'] } },
};

const INSTANCE_PROFILE_ARN = 'arn:{partition}:iam::{accountId}:instance-profile/*';

const INSTANCE_PROFILE_CREATION: PolicyStatement = {
  Sid: 'AllowScopedInstanceProfileCreationActions',
  Effect: 'Allow',
  Resource: INSTANCE_PROFILE_ARN,
  Action: ['iam:CreateInstanceProfile'],
  Condition: {
    StringEquals: {
      'aws:RequestTag/kubernetes.io/cluster/{clusterName}': 'owned',
      'aws:RequestTag/eks:eks-cluster-name': '{clusterName}',
      'aws:RequestTag/topology.kubernetes.io/region': '{region}',
    },
    StringLike: { 'aws:RequestTag/karpenter.k8s.aws/ec2nodeclass': '*' },
  },
};

const INSTANCE_PROFILE_TAGGING: PolicyStatement = {
  Sid: 'AllowScopedInstanceProfileTagActions',
  Effect: 'Allow',
  Resource: INSTANCE_PROFILE_ARN,
  Action: ['iam:TagInstanceProfile'],
  Condition: {
    StringEquals: {
      'aws:ResourceTag/kubernetes.io/cluster/{clusterName}': 'owned',
      'aws:ResourceTag/topology.kubernetes.io/region': '{region}',
      'aws:RequestTag/kubernetes.io/cluster/{clusterName}': 'owned',
      'aws:RequestTag/eks:eks-cluster-name': '{clusterName}',
      'aws:RequestTag/topology.kubernetes.io/region': '{region}',
    },
    StringLike: {
      'aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass': '*',
      'aws:RequestTag/karpenter.k8s.aws/ec2nodeclass': '*',
    },
  },
};

const INSTANCE_PROFILE_ACTIONS: PolicyStatement = {
  Sid: 'AllowScopedInstanceProfileActions',
  Effect: 'Allow',
  Resource: INSTANCE_PROFILE_ARN,
  Action: ['iam:AddRoleToInstanceProfile', 'iam:RemoveRoleFromInstanceProfile', 'iam:DeleteInstanceProfile'],
  Condition: {
    StringEquals: {
      'aws:ResourceTag/kubernetes.io/cluster/{clusterName}': 'owned',
      'aws:ResourceTag/topology.kubernetes.io/region': '{region}',
    },
    StringLike: { 'aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass': '*' },
  },
};

const INSTANCE_PROFILE_READ: PolicyStatement = {
  Sid: 'AllowInstanceProfileReadActions',
  Effect: 'Allow',
  Resource: INSTANCE_PROFILE_ARN,
  Action: 'iam:GetInstanceProfile',
};

const INSTANCE_PROFILE_LIST: PolicyStatement = {
  Sid: 'AllowUnscopedInstanceProfileListAction',
  Effect: 'Allow',
  Resource: '*',
  Action: 'iam:ListInstanceProfiles',
};

const CLUSTER_ARN = 'arn:{partition}:eks:{region}:{accountId}:cluster/{clusterName}';

const API_SERVER_DISCOVERY: PolicyStatement = {
  Sid: 'AllowAPIServerEndpointDiscovery',
  Effect: 'Allow',
  Resource: CLUSTER_ARN,
  Action: 'eks:DescribeCluster',
};

const INSTANCE_STATUS_READ_1_12: PolicyStatement = {
  Sid: 'AllowUnscopedEC2DescribeInstanceStatus',
  Effect: 'Allow',
  Resource: '*',
  Action: 'ec2:DescribeInstanceStatus',
};

const ZONAL_SHIFT_READ_1_12: PolicyStatement = {
  Sid: 'AllowZonalShiftStatusReadOnly',
  Effect: 'Allow',
  Resource: CLUSTER_ARN,
  Action: ['arc-zonal-shift:GetManagedResource'],
};

const ZONAL_SHIFT_READ_1_13: PolicyStatement = {
  Sid: 'AllowZonalShiftStatusReadOnly',
  Effect: 'Allow',
  Resource: '*',
  Action: ['arc-zonal-shift:GetManagedResource'],
  Condition: { StringEquals: { 'arc-zonal-shift:ResourceIdentifier': CLUSTER_ARN } },
};

const single = (statements: PolicyStatement[]): ControllerPolicyData[] => [
  { logicalId: 'KarpenterControllerPolicy', namePrefix: 'KarpenterControllerPolicy', statements },
];

interface SplitPolicies {
  nodeLifecycle: PolicyStatement[];
  zonalShift?: PolicyStatement[];
  resourceDiscovery: PolicyStatement[];
}

const split = (p: SplitPolicies): ControllerPolicyData[] => [
  {
    logicalId: 'NodeLifecyclePolicy',
    namePrefix: 'KarpenterControllerNodeLifecyclePolicy',
    statements: p.nodeLifecycle,
  },
  {
    logicalId: 'IAMIntegrationPolicy',
    namePrefix: 'KarpenterControllerIAMIntegrationPolicy',
    statements: [
      PASS_NODE_ROLE,
      INSTANCE_PROFILE_CREATION,
      INSTANCE_PROFILE_TAGGING,
      INSTANCE_PROFILE_ACTIONS,
    ],
  },
  {
    logicalId: 'EKSIntegrationPolicy',
    namePrefix: 'KarpenterControllerEKSIntegrationPolicy',
    statements: [API_SERVER_DISCOVERY],
  },
  {
    logicalId: 'InterruptionPolicy',
    namePrefix: 'KarpenterControllerInterruptionPolicy',
    statements: [INTERRUPTION_QUEUE_ACCESS],
  },
  ...(p.zonalShift
    ? [
        {
          logicalId: 'ZonalShiftPolicy',
          namePrefix: 'KarpenterControllerZonalShiftPolicy',
          statements: p.zonalShift,
        },
      ]
    : []),
  {
    logicalId: 'ResourceDiscoveryPolicy',
    namePrefix: 'KarpenterControllerResourceDiscoveryPolicy',
    statements: p.resourceDiscovery,
  },
];

const singlePolicyStatements = (o: {
  access: string[];
  withTags: string[];
  read: string[];
  listProfiles: boolean;
}): PolicyStatement[] => [
  accessActions(o.access),
  LAUNCH_TEMPLATE_ACCESS,
  actionsWithTags(o.withTags),
  RESOURCE_CREATION_TAGGING,
  RESOURCE_TAGGING,
  SCOPED_DELETION,
  regionalRead(o.read),
  SSM_READ,
  PRICING_READ,
  INTERRUPTION_QUEUE_ACCESS,
  PASS_NODE_ROLE,
  INSTANCE_PROFILE_CREATION,
  INSTANCE_PROFILE_TAGGING,
  INSTANCE_PROFILE_ACTIONS,
  INSTANCE_PROFILE_READ,
  ...(o.listProfiles ? [INSTANCE_PROFILE_LIST] : []),
  API_SERVER_DISCOVERY,
];

const nodeLifecycle = (access: string[], deletion: PolicyStatement = SCOPED_DELETION): PolicyStatement[] => [
  accessActions(access),
  LAUNCH_TEMPLATE_ACCESS,
  actionsWithTags([]),
  RESOURCE_CREATION_TAGGING,
  RESOURCE_TAGGING,
  deletion,
];

const RULES_1_0: InterruptionRuleData[] = [
  { logicalId: 'ScheduledChangeRule', source: 'aws.health', detailType: 'AWS Health Event' },
  {
    logicalId: 'SpotInterruptionRule',
    source: 'aws.ec2',
    detailType: 'EC2 Spot Instance Interruption Warning',
  },
  { logicalId: 'RebalanceRule', source: 'aws.ec2', detailType: 'EC2 Instance Rebalance Recommendation' },
  {
    logicalId: 'InstanceStateChangeRule',
    source: 'aws.ec2',
    detailType: 'EC2 Instance State-change Notification',
  },
];
const RULES_1_10: InterruptionRuleData[] = [
  ...RULES_1_0,
  {
    logicalId: 'CapacityReservationInterruptionRule',
    source: 'aws.ec2',
    detailType: 'EC2 Capacity Reservation Instance Interruption Warning',
  },
];

const QUEUE: QueueData = {
  attributes: { MessageRetentionPeriod: '300', SqsManagedSseEnabled: 'true' },
  policy: {
    Id: 'EC2InterruptionPolicy',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: ['events.amazonaws.com', 'sqs.amazonaws.com'] },
        Action: 'sqs:SendMessage',
        Resource: '{queueArn}',
      },
      {
        Sid: 'DenyHTTP',
        Effect: 'Deny',
        Action: 'sqs:*',
        Resource: '{queueArn}',
        Condition: { Bool: { 'aws:SecureTransport': false } },
        Principal: '*',
      },
    ],
  },
};

const NODE_POLICIES_1_0 = [
  'AmazonEKS_CNI_Policy',
  'AmazonEKSWorkerNodePolicy',
  'AmazonEC2ContainerRegistryReadOnly',
  'AmazonSSMManagedInstanceCore',
];
const NODE_POLICIES_1_4 = [
  'AmazonEKS_CNI_Policy',
  'AmazonEKSWorkerNodePolicy',
  'AmazonEC2ContainerRegistryPullOnly',
  'AmazonSSMManagedInstanceCore',
];

const PREVIEW_1_1 = {
  file: `website/content/en/preview/${GETTING_STARTED}`,
  commit: '86aa1e6a793f78b46a9fac0b079067fffe53f32e',
  fixture: '__tests__/fixtures/versions/cloudformation-v1.1.yaml',
};
const V1_5 = {
  file: `website/content/en/v1.5/${GETTING_STARTED}`,
  commit: '65f210651e675e077d8be1d505fd13cf2d8ec40d',
  fixture: '__tests__/fixtures/versions/cloudformation-v1.5.yaml',
};
const V1_7 = {
  file: `website/content/en/v1.7/${GETTING_STARTED}`,
  commit: '65f210651e675e077d8be1d505fd13cf2d8ec40d',
  fixture: '__tests__/fixtures/versions/cloudformation-v1.7.yaml',
};
const V1_12 = {
  file: `website/content/en/v1.12/${GETTING_STARTED}`,
  commit: '1698d22d4883c82955537b165d1bbe78d5ac5254',
  fixture: '__tests__/fixtures/versions/cloudformation-v1.12.yaml',
};
const V1_14 = {
  file: `website/content/en/v1.14/${GETTING_STARTED}`,
  commit: 'e0834c2bd02ed804561d5748ab92f5c2b8f86d60',
  fixture: '__tests__/fixtures/versions/cloudformation-v1.14.yaml',
};
/**
 * The 1.15 getting-started template was not found in any source that could be read, so its row is
 * derived: the base is the 1.14 template, and the fixture is that template with the one change the
 * v1.15 reference page shows (see the row's derivation).
 */
const V1_15_FROM_V1_14 = {
  file: V1_14.file,
  commit: V1_14.commit,
  fixture: '__tests__/fixtures/versions/cloudformation-v1.15.yaml',
};
const V1_15_REFERENCE_PAGE =
  'website/content/en/v1.15/reference/cloudformation.md at d77d1a3a5a44d7ce9c041bcc51da1e567de3f2ec';
const REPO = 'aws/karpenter-provider-aws' as const;

const IMAGEBUILDER_NOTE =
  'AllowSSMReadActions keeps only parameter/aws/service/*: this copy also lists parameter/imagebuilder/*, which no released template has (it comes from the unmerged docs pull request aws/karpenter-provider-aws#8513)';
const CAPACITY_RESERVATION_TAG_NOTE =
  'AllowScopedEC2InstanceActionsWithTags lists no capacity-reservation/* resource, as in the 1.12 and 1.14 templates and the v1.11 reference page; the 1.3-1.7 copies list it and the release that dropped it was not found';

/** One row per distinct getting-started template, oldest first. */
export const TEMPLATE_ROWS: readonly TemplateRow[] = [
  {
    id: 'v1.0',
    minors: ['1.0'],
    source: {
      origin: 'derived',
      repository: REPO,
      ...PREVIEW_1_1,
      derivation: [
        'base: the 1.1-1.2 template',
        'AllowRegionalReadActions also allows ec2:DescribeAvailabilityZones, which the 1.0 template still had and the 1.1 template dropped (research karpenter.md §1.2, from git show of the tags)',
      ],
    },
    nodeRoleManagedPolicies: NODE_POLICIES_1_0,
    nodeRoleTrust: 'ec2',
    controllerPolicies: single(
      singlePolicyStatements({ access: [], withTags: [], read: READ_ACTIONS_1_0, listProfiles: false }),
    ),
    interruptionRules: RULES_1_0,
    queue: QUEUE,
  },
  {
    id: 'v1.1',
    minors: ['1.1', '1.2'],
    source: { origin: 'read', repository: REPO, ...PREVIEW_1_1 },
    nodeRoleManagedPolicies: NODE_POLICIES_1_0,
    nodeRoleTrust: 'ec2',
    controllerPolicies: single(
      singlePolicyStatements({ access: [], withTags: [], read: READ_ACTIONS_1_1, listProfiles: false }),
    ),
    interruptionRules: RULES_1_0,
    queue: QUEUE,
  },
  {
    id: 'v1.3',
    minors: ['1.3'],
    source: {
      origin: 'read',
      repository: REPO,
      file: `website/content/en/v1.3/${GETTING_STARTED}`,
      commit: '691b99a85e03d2a2a7c4834dbb685f9979154df6',
      fixture: '__tests__/fixtures/versions/cloudformation-v1.3.yaml',
    },
    nodeRoleManagedPolicies: NODE_POLICIES_1_0,
    nodeRoleTrust: 'ec2',
    controllerPolicies: single(
      singlePolicyStatements({
        access: [CAPACITY_RESERVATION_ARN],
        withTags: [CAPACITY_RESERVATION_ARN],
        read: READ_ACTIONS_1_3,
        listProfiles: false,
      }),
    ),
    interruptionRules: RULES_1_0,
    queue: QUEUE,
  },
  {
    id: 'v1.4',
    minors: ['1.4', '1.5', '1.6'],
    source: { origin: 'derived', repository: REPO, ...V1_5, derivation: [IMAGEBUILDER_NOTE] },
    nodeRoleManagedPolicies: NODE_POLICIES_1_4,
    nodeRoleTrust: 'ec2',
    controllerPolicies: single(
      singlePolicyStatements({
        access: [CAPACITY_RESERVATION_ARN],
        withTags: [CAPACITY_RESERVATION_ARN],
        read: READ_ACTIONS_1_3,
        listProfiles: false,
      }),
    ),
    interruptionRules: RULES_1_0,
    queue: QUEUE,
  },
  {
    id: 'v1.7',
    minors: ['1.7', '1.8'],
    source: { origin: 'derived', repository: REPO, ...V1_7, derivation: [IMAGEBUILDER_NOTE] },
    nodeRoleManagedPolicies: NODE_POLICIES_1_4,
    nodeRoleTrust: 'ec2',
    controllerPolicies: single(
      singlePolicyStatements({
        access: [CAPACITY_RESERVATION_ARN],
        withTags: [CAPACITY_RESERVATION_ARN],
        read: READ_ACTIONS_1_3,
        listProfiles: true,
      }),
    ),
    interruptionRules: RULES_1_0,
    queue: QUEUE,
  },
  {
    id: 'v1.9',
    minors: ['1.9'],
    source: {
      origin: 'derived',
      repository: REPO,
      ...V1_12,
      derivation: [
        'base: the 1.12 template, whose five-policy split arrived in 1.9 (aws/karpenter-provider-aws#8690)',
        'without the 1.12 additions: the ZonalShiftPolicy and the AllowUnscopedEC2DescribeInstanceStatus statement',
        'without the 1.11 additions: ec2:DescribePlacementGroups and the placement-group/* resource',
        'without the 1.10 addition: CapacityReservationInterruptionRule',
        CAPACITY_RESERVATION_TAG_NOTE,
      ],
    },
    nodeRoleManagedPolicies: NODE_POLICIES_1_4,
    nodeRoleTrust: 'ec2',
    controllerPolicies: split({
      nodeLifecycle: nodeLifecycle([CAPACITY_RESERVATION_ARN]),
      resourceDiscovery: [
        regionalRead(READ_ACTIONS_1_3),
        SSM_READ,
        PRICING_READ,
        INSTANCE_PROFILE_LIST,
        INSTANCE_PROFILE_READ,
      ],
    }),
    interruptionRules: RULES_1_0,
    queue: QUEUE,
  },
  {
    id: 'v1.10',
    minors: ['1.10'],
    source: {
      origin: 'derived',
      repository: REPO,
      ...V1_12,
      derivation: [
        'base: the 1.12 template',
        'without the 1.12 additions: the ZonalShiftPolicy and the AllowUnscopedEC2DescribeInstanceStatus statement',
        'without the 1.11 additions: ec2:DescribePlacementGroups and the placement-group/* resource',
        CAPACITY_RESERVATION_TAG_NOTE,
      ],
    },
    nodeRoleManagedPolicies: NODE_POLICIES_1_4,
    nodeRoleTrust: 'ec2',
    controllerPolicies: split({
      nodeLifecycle: nodeLifecycle([CAPACITY_RESERVATION_ARN]),
      resourceDiscovery: [
        regionalRead(READ_ACTIONS_1_3),
        SSM_READ,
        PRICING_READ,
        INSTANCE_PROFILE_LIST,
        INSTANCE_PROFILE_READ,
      ],
    }),
    interruptionRules: RULES_1_10,
    queue: QUEUE,
  },
  {
    id: 'v1.11',
    minors: ['1.11'],
    source: {
      origin: 'derived',
      repository: REPO,
      ...V1_12,
      derivation: [
        'base: the 1.12 template',
        'without the 1.12 additions: the ZonalShiftPolicy and the AllowUnscopedEC2DescribeInstanceStatus statement',
        CAPACITY_RESERVATION_TAG_NOTE,
      ],
    },
    nodeRoleManagedPolicies: NODE_POLICIES_1_4,
    nodeRoleTrust: 'ec2',
    controllerPolicies: split({
      nodeLifecycle: nodeLifecycle([CAPACITY_RESERVATION_ARN, PLACEMENT_GROUP_ARN]),
      resourceDiscovery: [
        regionalRead(READ_ACTIONS_1_11),
        SSM_READ,
        PRICING_READ,
        INSTANCE_PROFILE_LIST,
        INSTANCE_PROFILE_READ,
      ],
    }),
    interruptionRules: RULES_1_10,
    queue: QUEUE,
  },
  {
    id: 'v1.12',
    minors: ['1.12'],
    source: { origin: 'read', repository: REPO, ...V1_12 },
    nodeRoleManagedPolicies: NODE_POLICIES_1_4,
    nodeRoleTrust: 'ec2',
    controllerPolicies: split({
      nodeLifecycle: nodeLifecycle([CAPACITY_RESERVATION_ARN, PLACEMENT_GROUP_ARN]),
      zonalShift: [ZONAL_SHIFT_READ_1_12],
      resourceDiscovery: [
        regionalRead(READ_ACTIONS_1_11),
        SSM_READ,
        PRICING_READ,
        INSTANCE_PROFILE_LIST,
        INSTANCE_PROFILE_READ,
        INSTANCE_STATUS_READ_1_12,
      ],
    }),
    interruptionRules: RULES_1_10,
    queue: QUEUE,
  },
  {
    id: 'v1.13',
    minors: ['1.13'],
    source: {
      origin: 'derived',
      repository: REPO,
      ...V1_14,
      derivation: [
        'base: the 1.14 template, unchanged: no IAM, queue or rule change is documented between 1.13 and 1.14, and the v1.13 reference page (website/content/en/v1.13/reference/cloudformation.md at d8ef6953601de336f1053b0411a1f8d4f4a090bb) shows the 1.14 forms of AllowZonalShiftStatusReadOnly and AllowRegionalReadActions',
      ],
    },
    nodeRoleManagedPolicies: NODE_POLICIES_1_4,
    nodeRoleTrust: 'ec2-and-pod-identity',
    controllerPolicies: split({
      nodeLifecycle: nodeLifecycle([CAPACITY_RESERVATION_ARN, PLACEMENT_GROUP_ARN]),
      zonalShift: [ZONAL_SHIFT_READ_1_13],
      resourceDiscovery: [
        regionalRead(READ_ACTIONS_1_13),
        SSM_READ,
        PRICING_READ,
        INSTANCE_PROFILE_LIST,
        INSTANCE_PROFILE_READ,
      ],
    }),
    interruptionRules: RULES_1_10,
    queue: QUEUE,
  },
  {
    id: 'v1.14',
    minors: ['1.14'],
    source: { origin: 'read', repository: REPO, ...V1_14 },
    nodeRoleManagedPolicies: NODE_POLICIES_1_4,
    nodeRoleTrust: 'ec2-and-pod-identity',
    controllerPolicies: split({
      nodeLifecycle: nodeLifecycle([CAPACITY_RESERVATION_ARN, PLACEMENT_GROUP_ARN]),
      zonalShift: [ZONAL_SHIFT_READ_1_13],
      resourceDiscovery: [
        regionalRead(READ_ACTIONS_1_13),
        SSM_READ,
        PRICING_READ,
        INSTANCE_PROFILE_LIST,
        INSTANCE_PROFILE_READ,
      ],
    }),
    interruptionRules: RULES_1_10,
    queue: QUEUE,
  },
  {
    id: 'v1.15',
    minors: ['1.15'],
    source: {
      origin: 'derived',
      repository: REPO,
      ...V1_15_FROM_V1_14,
      derivation: [
        'base: the 1.14 template (the 1.15 getting-started template could not be read)',
        `plus ec2:RebootInstances in AllowScopedDeletion, as the v1.15 reference page shows (${V1_15_REFERENCE_PAGE}); the controller uses it for node repair by reboot (settings.awsFeatureGates.rebootForRepair)`,
        'nothing else: that page shows every other statement, the queue, its policy and the five rules as 1.14 has them',
        "the node role's Pod Identity trust is kept from 1.14 unverified: the reference pages show only its EC2 statement for both versions",
      ],
    },
    nodeRoleManagedPolicies: NODE_POLICIES_1_4,
    nodeRoleTrust: 'ec2-and-pod-identity',
    controllerPolicies: split({
      nodeLifecycle: nodeLifecycle([CAPACITY_RESERVATION_ARN, PLACEMENT_GROUP_ARN], SCOPED_DELETION_1_15),
      zonalShift: [ZONAL_SHIFT_READ_1_13],
      resourceDiscovery: [
        regionalRead(READ_ACTIONS_1_13),
        SSM_READ,
        PRICING_READ,
        INSTANCE_PROFILE_LIST,
        INSTANCE_PROFILE_READ,
      ],
    }),
    interruptionRules: RULES_1_10,
    queue: QUEUE,
  },
];

/** The target id every interruption rule in the templates gives its queue target. */
export const INTERRUPTION_RULE_TARGET_ID = 'KarpenterInterruptionQueueTarget';

/** The policy language version every controller policy in the templates declares. */
export const POLICY_VERSION = '2012-10-17';
