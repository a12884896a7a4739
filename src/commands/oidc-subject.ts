import { Refusal } from '../errors.ts';

/**
 * How GitHub's OIDC tokens of one repository spell their `sub` claim, and the trust conditions that
 * match it.
 *
 * - `names`: the default template of older repositories, `repo:OWNER/REPO:<context>`.
 * - `ids`: the default template with immutable IDs (repositories created, renamed or transferred since
 *   mid-2026, or opted in): `repo:OWNER@OWNERID/REPO@REPOID:<context>`. GitHub reports the prefix as
 *   `sub_claim_prefix` of `GET /repos/{owner}/{repo}/actions/oidc/customization/sub`.
 * - `claims`: a custom template (`use_default: false`), whose `include_claim_keys` are joined as
 *   `key:value` pairs, `context` written as its bare value (`pull_request`, `ref:refs/heads/main`,
 *   `environment:NAME`).
 */
export type SubjectFormat =
  | { kind: 'names' }
  | { kind: 'ids'; ownerId: string; repositoryId: string }
  | { kind: 'claims'; keys: readonly string[]; ownerId?: string; repositoryId?: string };

/** The run a role is assumed from: a pull request, a branch (the drift check) or a protected environment. */
export type SubjectContext =
  | { kind: 'pull_request' }
  | { kind: 'branch'; branch: string }
  | { kind: 'environment'; environment: string };

/** A `sub` condition: exact strings, or patterns when a claim varies from run to run. */
export interface SubjectCondition {
  operator: 'StringEquals' | 'StringLike';
  values: string[];
}

/** The repository part of a default-template subject. */
export function buildSubjectRepository(repository: string, format: SubjectFormat): string {
  if (format.kind !== 'ids') return repository;
  const [owner, name] = repository.split('/');
  return `${owner}@${format.ownerId}/${name}@${format.repositoryId}`;
}

function contextValue(ctx: SubjectContext): string {
  if (ctx.kind === 'pull_request') return 'pull_request';
  if (ctx.kind === 'branch') return `ref:refs/heads/${ctx.branch}`;
  return `environment:${ctx.environment}`;
}

/**
 * The value of one claim in a run of this context, or `*` where it varies from run to run (the actor,
 * the workflow file, the pull request's merge ref). Claims that would need an ID nobody gave are refused.
 */
function claimValue(key: string, repository: string, format: SubjectFormat, ctx: SubjectContext): string {
  const [owner] = repository.split('/');
  const ids: { ownerId?: string; repositoryId?: string } = format.kind === 'names' ? {} : format;
  const needId = (id: string | undefined, flag: string): string => {
    if (id === undefined)
      throw new Refusal(`the subject template includes the claim ${key}, whose value is a numeric ID`, [
        `pass ${flag} (gh api repos/${repository} --jq '.owner.id, .id' prints the owner's and the repository's)`,
      ]);
    return id;
  };
  switch (key) {
    case 'repo':
      return format.kind === 'claims' && format.ownerId !== undefined && format.repositoryId !== undefined
        ? buildSubjectRepository(repository, {
            kind: 'ids',
            ownerId: format.ownerId,
            repositoryId: format.repositoryId,
          })
        : repository;
    case 'repository':
      return repository;
    case 'repository_owner':
      return owner!;
    case 'repository_owner_id':
      return needId(ids.ownerId, '--owner-id');
    case 'repository_id':
      return needId(ids.repositoryId, '--repository-id');
    case 'context':
      return contextValue(ctx);
    case 'environment':
      return ctx.kind === 'environment' ? ctx.environment : '*';
    case 'event_name':
      return ctx.kind === 'pull_request' ? 'pull_request' : '*';
    case 'ref':
      return ctx.kind === 'branch' ? `refs/heads/${ctx.branch}` : '*';
    case 'ref_type':
      return 'branch';
    default:
      return '*';
  }
}

/** The `sub` condition a role's trust policy needs for runs of this context. */
export function buildSubjectCondition(
  repository: string,
  format: SubjectFormat,
  contexts: readonly SubjectContext[],
): SubjectCondition {
  const values = contexts.map((ctx) => {
    if (format.kind !== 'claims')
      return `repo:${buildSubjectRepository(repository, format)}:${contextValue(ctx)}`;
    return format.keys
      .map((key) => {
        const value = claimValue(key, repository, format, ctx);
        return key === 'context' ? value : `${key}:${value}`;
      })
      .join(':');
  });
  return { operator: values.some((v) => v.includes('*')) ? 'StringLike' : 'StringEquals', values };
}

/** One sentence for the printed policies: which subject format the trust policies use, and how to change it. */
export function describeSubjectFormat(repository: string, format: SubjectFormat): string {
  if (format.kind === 'ids')
    return `The trust policies use GitHub's immutable-ID subjects (repo:${buildSubjectRepository(repository, format)}:...).`;
  if (format.kind === 'claims')
    return `The trust policies follow this repository's custom subject template (${format.keys.join(', ')}); claims that vary from run to run are matched by *.`;
  return `The trust policies use name-only subjects (repo:${repository}:...). Repositories created, renamed or transferred since mid-2026, or opted in, get subjects with IDs (repo:OWNER@ID/REPO@ID:...), and organisations may set a custom template: save \`gh api repos/${repository}/actions/oidc/customization/sub\` to a file and pass it as --oidc-subject, which writes whatever format it reports.`;
}

const NUMERIC_ID = /^\d{1,20}$/;

/**
 * The subject format from what `gh api repos/OWNER/REPO/actions/oidc/customization/sub` printed
 * (`use_default`, `include_claim_keys`, `use_immutable_subject`, `sub_claim_prefix`), checked against
 * the repository the policies are for. `source` names the file in errors.
 */
export function parseSubjectCustomization(text: string, repository: string, source: string): SubjectFormat {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Refusal(`${source} is not JSON (${(e as Error).message})`, [
      `write it with: gh api repos/${repository}/actions/oidc/customization/sub > ${source}`,
    ]);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new Refusal(`${source} is not the object GitHub's OIDC customization endpoint returns`, [
      `write it with: gh api repos/${repository}/actions/oidc/customization/sub > ${source}`,
    ]);
  const o = doc as Record<string, unknown>;
  const prefix =
    typeof o.sub_claim_prefix === 'string' && o.sub_claim_prefix !== '' ? o.sub_claim_prefix : undefined;
  let ownerId: string | undefined;
  let repositoryId: string | undefined;
  if (prefix !== undefined) {
    const m = /^repo:([^/@:]+)(?:@(\d+))?\/([^/@:]+)(?:@(\d+))?$/.exec(prefix);
    if (!m)
      throw new Refusal(
        `${source}: sub_claim_prefix "${prefix}" is not repo:OWNER/REPO or repo:OWNER@ID/REPO@ID`,
      );
    if (`${m[1]}/${m[3]}`.toLowerCase() !== repository.toLowerCase())
      throw new Refusal(`${source}: sub_claim_prefix "${prefix}" names ${m[1]}/${m[3]}, not ${repository}`, [
        'the file was written for another repository, or the repository was renamed: read it again for the repository the roles are for',
      ]);
    if ((m[2] === undefined) !== (m[4] === undefined))
      throw new Refusal(
        `${source}: sub_claim_prefix "${prefix}" has an ID for only one of the owner and the repository`,
      );
    ownerId = m[2];
    repositoryId = m[4];
  }
  if (o.use_default === false) {
    const keys = o.include_claim_keys;
    if (
      !Array.isArray(keys) ||
      keys.length === 0 ||
      !keys.every((k) => typeof k === 'string' && /^\w+$/.test(k))
    )
      throw new Refusal(
        `${source}: use_default is false but include_claim_keys is not a list of claim names`,
      );
    return {
      kind: 'claims',
      keys: keys as string[],
      ...(ownerId !== undefined ? { ownerId, repositoryId } : {}),
    };
  }
  if (ownerId !== undefined && repositoryId !== undefined) return { kind: 'ids', ownerId, repositoryId };
  if (o.use_immutable_subject === true)
    throw new Refusal(
      `${source}: the repository uses immutable-ID subjects but the file has no sub_claim_prefix`,
      [`pass --owner-id and --repository-id instead (gh api repos/${repository} --jq '.owner.id, .id')`],
    );
  return { kind: 'names' };
}

/** The subject format from the flags: `--oidc-subject`'s file, else `--owner-id`/`--repository-id`, else names. */
export function subjectFormatFromIds(ownerId?: string, repositoryId?: string): SubjectFormat {
  if (ownerId === undefined || repositoryId === undefined) return { kind: 'names' };
  return { kind: 'ids', ownerId, repositoryId };
}

/** Problems with `--owner-id` / `--repository-id`, as lines for the flag refusal. */
export function checkIdFlags(ownerId?: string, repositoryId?: string): string[] {
  const problems: string[] = [];
  for (const [flag, v] of [
    ['--owner-id', ownerId],
    ['--repository-id', repositoryId],
  ] as const) {
    if (v !== undefined && !NUMERIC_ID.test(v)) problems.push(`${flag} "${v}" is not a numeric GitHub ID`);
  }
  if ((ownerId === undefined) !== (repositoryId === undefined))
    problems.push('--owner-id and --repository-id go together: an ID subject names both');
  return problems;
}
