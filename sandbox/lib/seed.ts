import {
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DescribeClusterCommand,
  type AuthenticationMode,
} from '@aws-sdk/client-eks';
import {
  AttachRolePolicyCommand,
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
} from '@aws-sdk/client-iam';
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type V1Node } from '@kubernetes/client-node';
import { sandboxClients, type AwsTarget } from './aws.ts';
import { adminKubeConfig, type KubeEndpoint } from './kube-admin.ts';

export interface SeedOptions {
  name: string;
  aws: AwsTarget;
  kube: KubeEndpoint;
  /** Called between the EKS cluster's creation and the Kubernetes seeding, to attach the API server. */
  register: (clusterName: string) => Promise<void>;
  authenticationMode?: AuthenticationMode;
  kubernetesVersion?: string;
  autoMode?: boolean;
  nodeCount?: number;
  zones?: string[];
  withClusterAutoscaler?: boolean;
  /**
   * Where the cluster's simulated kubelets (kwok) listen, when the cluster runs controllers: the nodes
   * advertise it, and their pods are then run by kwok instead of having their status written here.
   */
  kubelet?: { ip: string; port: number };
}

export interface SeededCluster {
  name: string;
  region: string;
  accountId: string;
  vpcId: string;
  subnetIds: string[];
  clusterSecurityGroupId: string;
  nodegroupName: string;
  nodeRoleArn: string;
  oidcIssuer: string;
  oidcProviderArn: string;
  nodeNames: string[];
}

const assumeRole = (service: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });

/**
 * The EKS access policies the sandbox emulates: its token webhook adds the group
 * `eks-access-policy:<Name>` for each policy associated with a principal, bound here to the Kubernetes
 * role the policy corresponds to (cluster-admin, or the aggregated admin/edit/view rules).
 */
export const ACCESS_POLICY_BINDINGS: Record<string, string> = {
  AmazonEKSClusterAdminPolicy: 'cluster-admin',
  AmazonEKSAdminPolicy: 'admin',
  AmazonEKSEditPolicy: 'edit',
  AmazonEKSViewPolicy: 'view',
};

/**
 * Creates what a team has before it moves to Karpenter: a VPC with private subnets in three zones,
 * an EKS cluster with its security group and OIDC provider, a managed node group with running
 * instances registered as Nodes, aws-auth mapping the node role, and Cluster Autoscaler running.
 */
export async function seedCluster(o: SeedOptions): Promise<SeededCluster> {
  const { ec2, eks, iam } = sandboxClients(o.aws);
  const zones = o.zones ?? ['a', 'b', 'c'].map((z) => `${o.aws.region}${z}`);
  const name = o.name;

  const vpc = await ec2.send(
    new CreateVpcCommand({
      CidrBlock: '10.0.0.0/16',
      TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: `${name}-vpc` }] }],
    }),
  );
  const vpcId = vpc.Vpc!.VpcId!;
  const subnetIds: string[] = [];
  for (const [i, zone] of zones.entries()) {
    const s = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: `10.0.${i * 32}.0/19`,
        AvailabilityZone: zone,
        TagSpecifications: [
          {
            ResourceType: 'subnet',
            Tags: [
              { Key: 'Name', Value: `${name}-private-${zone}` },
              { Key: 'kubernetes.io/role/internal-elb', Value: '1' },
            ],
          },
        ],
      }),
    );
    subnetIds.push(s.Subnet!.SubnetId!);
  }

  const clusterRole = await iam.send(
    new CreateRoleCommand({
      RoleName: `${name}-cluster`,
      AssumeRolePolicyDocument: assumeRole('eks.amazonaws.com'),
    }),
  );
  await iam.send(
    new AttachRolePolicyCommand({
      RoleName: `${name}-cluster`,
      PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy',
    }),
  );
  const nodeRoleName = `${name}-nodegroup`;
  const nodeRole = await iam.send(
    new CreateRoleCommand({
      RoleName: nodeRoleName,
      AssumeRolePolicyDocument: assumeRole('ec2.amazonaws.com'),
    }),
  );
  for (const p of [
    'AmazonEKSWorkerNodePolicy',
    'AmazonEKS_CNI_Policy',
    'AmazonEC2ContainerRegistryReadOnly',
  ]) {
    await iam.send(
      new AttachRolePolicyCommand({ RoleName: nodeRoleName, PolicyArn: `arn:aws:iam::aws:policy/${p}` }),
    );
  }

  await eks.send(
    new CreateClusterCommand({
      name,
      version: o.kubernetesVersion ?? '1.36',
      roleArn: clusterRole.Role!.Arn!,
      resourcesVpcConfig: { subnetIds },
      accessConfig: {
        authenticationMode: o.authenticationMode ?? 'API_AND_CONFIG_MAP',
        bootstrapClusterCreatorAdminPermissions: true,
      },
      ...(o.autoMode
        ? {
            computeConfig: { enabled: true, nodePools: ['general-purpose', 'system'] },
            storageConfig: { blockStorage: { enabled: true } },
            kubernetesNetworkConfig: { elasticLoadBalancing: { enabled: true } },
          }
        : {}),
    }),
  );
  await o.register(name);
  const cluster = (await eks.send(new DescribeClusterCommand({ name }))).cluster!;
  const clusterSecurityGroupId = cluster.resourcesVpcConfig?.clusterSecurityGroupId ?? '';
  const oidcIssuer = cluster.identity?.oidc?.issuer ?? '';
  const oidc = await iam.send(
    new CreateOpenIDConnectProviderCommand({
      Url: oidcIssuer,
      ClientIDList: ['sts.amazonaws.com'],
      ThumbprintList: ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'],
    }),
  );

  const nodegroupName = `${name}-ng`;
  const nodeCount = o.nodeCount ?? zones.length;
  await eks.send(
    new CreateNodegroupCommand({
      clusterName: name,
      nodegroupName,
      nodeRole: nodeRole.Role!.Arn!,
      subnets: subnetIds,
      instanceTypes: ['m5.large'],
      scalingConfig: { minSize: nodeCount, maxSize: nodeCount + 2, desiredSize: nodeCount },
      labels: { role: 'system' },
    }),
  );

  const nodeNames: string[] = [];
  const nodes: V1Node[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const zone = zones[i % zones.length]!;
    const subnetId = subnetIds[i % subnetIds.length]!;
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        InstanceType: 'm5.large',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnetId,
        SecurityGroupIds: clusterSecurityGroupId ? [clusterSecurityGroupId] : undefined,
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: 'eks:cluster-name', Value: name },
              { Key: 'eks:nodegroup-name', Value: nodegroupName },
              { Key: `kubernetes.io/cluster/${name}`, Value: 'owned' },
              { Key: 'k8s.io/cluster-autoscaler/enabled', Value: 'true' },
              { Key: `k8s.io/cluster-autoscaler/${name}`, Value: 'owned' },
            ],
          },
        ],
      }),
    );
    const id = run.Instances![0]!.InstanceId!;
    const desc = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const inst = desc.Reservations![0]!.Instances![0]!;
    const nodeName = inst.PrivateDnsName || `ip-10-0-${i * 32}-10.ec2.internal`;
    await ec2.send(
      new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'Name', Value: `${nodegroupName}-node` }] }),
    );
    nodeNames.push(nodeName);
    nodes.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: nodeName,
        labels: {
          'kubernetes.io/hostname': nodeName,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'node.kubernetes.io/instance-type': 'm5.large',
          'topology.kubernetes.io/region': o.aws.region,
          'topology.kubernetes.io/zone': zone,
          'eks.amazonaws.com/nodegroup': nodegroupName,
          'eks.amazonaws.com/capacityType': 'ON_DEMAND',
          'eks.amazonaws.com/nodegroup-image': 'ami-12c6146b',
          role: 'system',
        },
      },
      spec: { providerID: `aws:///${zone}/${id}` },
    });
  }

  const kc = adminKubeConfig(o.kube);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);

  // The built-in view/edit/admin ClusterRoles are filled by kube-controller-manager's aggregation
  // controller, which the sandbox does not run; build the aggregated rules here the way it would.
  const aggregate = async (...parts: string[]) => {
    const rules = [];
    for (const p of parts)
      rules.push(...((await rbac.readClusterRole({ name: `system:aggregate-to-${p}` })).rules ?? []));
    return rules;
  };
  const policyRoles: Record<string, () => Promise<string>> = {
    AmazonEKSClusterAdminPolicy: () => Promise.resolve('cluster-admin'),
    AmazonEKSAdminPolicy: () => aggregated('admin', ['view', 'edit', 'admin']),
    AmazonEKSEditPolicy: () => aggregated('edit', ['view', 'edit']),
    AmazonEKSViewPolicy: () => aggregated('view', ['view']),
  };
  const aggregated = async (name: string, parts: string[]) => {
    const roleName = `sandbox:eks-access-policy:${name}`;
    await rbac.createClusterRole({
      body: { metadata: { name: roleName }, rules: await aggregate(...parts) },
    });
    return roleName;
  };
  for (const policy of Object.keys(ACCESS_POLICY_BINDINGS)) {
    const role = await policyRoles[policy]!();
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `eks-access-policy:${policy}`, labels: { 'sandbox.karpenter-action/eks': 'true' } },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `eks-access-policy:${policy}` },
        ],
      },
    });
  }
  await core.createNamespacedConfigMap({
    namespace: 'kube-system',
    body: {
      metadata: { name: 'aws-auth', namespace: 'kube-system' },
      data: {
        mapRoles: [
          `- rolearn: ${nodeRole.Role!.Arn!}`,
          '  username: system:node:{{EC2PrivateDNSName}}',
          '  groups:',
          '    - system:bootstrappers',
          '    - system:nodes',
          '',
        ].join('\n'),
      },
    },
  });
  const ready = new Date().toISOString();
  for (const node of nodes) {
    await core.createNode({ body: node });
    await core.replaceNodeStatus({
      name: node.metadata!.name!,
      body: {
        ...node,
        status: {
          ...(o.kubelet
            ? {
                addresses: [
                  { type: 'InternalIP', address: o.kubelet.ip },
                  { type: 'Hostname', address: node.metadata!.name! },
                ],
                daemonEndpoints: { kubeletEndpoint: { Port: o.kubelet.port } },
              }
            : {}),
          capacity: { cpu: '2', memory: '7910Mi', pods: '29', 'ephemeral-storage': '20959212Ki' },
          allocatable: { cpu: '1930m', memory: '7220Mi', pods: '29', 'ephemeral-storage': '18242267924' },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status',
              lastHeartbeatTime: ready as unknown as Date,
              lastTransitionTime: ready as unknown as Date,
            },
          ],
          nodeInfo: {
            architecture: 'amd64',
            operatingSystem: 'linux',
            kubeletVersion: `v${o.kubernetesVersion ?? '1.36'}.3-eks-1`,
            kubeProxyVersion: '',
            containerRuntimeVersion: 'containerd://2.1.4',
            kernelVersion: '6.12.40-63.114.amzn2023.x86_64',
            osImage: 'Amazon Linux 2023.9.20251105',
            bootID: '',
            machineID: '',
            systemUUID: '',
          },
        },
      },
    });
  }

  if (o.withClusterAutoscaler !== false) {
    await core.createNamespacedServiceAccount({
      namespace: 'kube-system',
      body: { metadata: { name: 'cluster-autoscaler', namespace: 'kube-system' } },
    });
    const labels = { 'app.kubernetes.io/name': 'cluster-autoscaler', app: 'cluster-autoscaler' };
    await apps.createNamespacedDeployment({
      namespace: 'kube-system',
      body: {
        metadata: { name: 'cluster-autoscaler', namespace: 'kube-system', labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: 'cluster-autoscaler',
              containers: [
                {
                  name: 'cluster-autoscaler',
                  image: 'registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.0',
                  command: [
                    './cluster-autoscaler',
                    '--cloud-provider=aws',
                    '--expander=least-waste',
                    `--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/${name}`,
                    '--balance-similar-node-groups',
                    '--skip-nodes-with-system-pods=false',
                  ],
                },
              ],
            },
          },
        },
      },
    });
    // Without kube-controller-manager the Deployment's status is written here the way the deployment
    // controller would after its pod started; with it, the controllers and kwok run a real pod.
    if (!o.kubelet)
      await apps.replaceNamespacedDeploymentStatus({
        name: 'cluster-autoscaler',
        namespace: 'kube-system',
        body: {
          metadata: { name: 'cluster-autoscaler', namespace: 'kube-system' },
          spec: { selector: { matchLabels: labels }, template: { metadata: { labels } } },
          status: {
            observedGeneration: 1,
            replicas: 1,
            readyReplicas: 1,
            availableReplicas: 1,
            updatedReplicas: 1,
          },
        },
      });
  }

  return {
    name,
    region: o.aws.region,
    accountId: o.aws.accountId ?? '123456789012',
    vpcId,
    subnetIds,
    clusterSecurityGroupId,
    nodegroupName,
    nodeRoleArn: nodeRole.Role!.Arn!,
    oidcIssuer,
    oidcProviderArn: oidc.OpenIDConnectProviderArn!,
    nodeNames,
  };
}
