/** A string or a list of strings, as IAM accepts for Action, Resource and condition values. */
export type OneOrMany = string | string[];

/** Condition values as written in a policy; IAM compares them as strings, so booleans and numbers are allowed. */
export type ConditionValue = OneOrMany | boolean | number | (string | boolean | number)[];

/** One statement of an IAM or SQS policy, in the shape the AWS APIs and CloudFormation accept. */
export type PolicyStatement = {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, OneOrMany>;
  NotPrincipal?: '*' | Record<string, OneOrMany>;
  Action?: OneOrMany;
  NotAction?: OneOrMany;
  Resource?: OneOrMany;
  NotResource?: OneOrMany;
  Condition?: Record<string, Record<string, ConditionValue>>;
};

/** An IAM or SQS policy document. */
export type PolicyDocument = {
  Version?: string;
  Id?: string;
  Statement: PolicyStatement[];
};
