/**
 * How a failed AWS call reads. The SDK errors here are built by hand: moto does not enforce IAM, so a
 * real AccessDenied cannot be had from the sandbox.
 */
import { describeError, explainAccessDenied } from '../../src/errors.ts';

const sdkError = (name: string, message: string, extra: object = {}) =>
  Object.assign(new Error(message), { name, ...extra });

test('an AccessDenied names the denied action and says to print the policies for this config again', () => {
  const err = sdkError(
    'AccessDenied',
    'User: arn:aws:sts::111122223333:assumed-role/karpenter-action-plan-prod-eks/karpenter-action is not authorized to perform: iam:GetPolicy on resource: policy KarpenterControllerZonalShiftPolicy-prod-eks',
  );
  const text = describeError(err);
  expect(text.startsWith('AccessDenied: User: arn:aws:sts::111122223333:assumed-role/')).toBe(true);
  expect(text).toContain(
    "; this run's role may not call iam:GetPolicy. The permissions `karpenter-action iam-policy` prints follow the config",
  );
  expect(text).toContain('`put-role-policy` the plan and apply roles with the result');
});

test("EC2's UnauthorizedOperation and a code-only denial get the same advice", () => {
  expect(
    explainAccessDenied(
      sdkError('UnauthorizedOperation', 'You are not authorized to perform this operation.'),
    ),
  ).toMatch(/^this run's role may not make this call\. /);
  expect(
    explainAccessDenied(sdkError('ServiceException', 'denied', { Code: 'AccessDeniedException' })),
  ).toBeDefined();
});

test('other errors read as before', () => {
  expect(describeError(sdkError('ThrottlingException', 'Rate exceeded'))).toBe(
    'ThrottlingException: Rate exceeded',
  );
  expect(explainAccessDenied(new Error('boom'))).toBeUndefined();
  expect(describeError('plain')).toBe('plain');
});
