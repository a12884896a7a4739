import pkg from '../package.json' with { type: 'json' };

/**
 * The action's own version, recorded in every plan file and shown in the plan comment's footer and the
 * job summary. It is package.json's `version`, inlined by the bundler, so a release tag, the package
 * and what a plan reports never disagree.
 */
export const TOOL_VERSION: string = pkg.version;
