/** A NodePool that may use spot and its EC2NodeClass, as the getting-started guide writes them. */
export const NODEPOOL = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      requirements:
        - key: kubernetes.io/arch
          operator: In
          values: ['amd64']
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
`;
export const NODECLASS = `apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  role: KarpenterNodeRole-\${CLUSTER_NAME}
  amiSelectorTerms:
    - alias: al2023@v20260101
  subnetSelectorTerms:
    - tags:
        karpenter.sh/discovery: \${CLUSTER_NAME}
  securityGroupSelectorTerms:
    - tags:
        karpenter.sh/discovery: \${CLUSTER_NAME}
`;
