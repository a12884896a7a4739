/** The action's own version, recorded in every plan file. */
export const TOOL_VERSION = '0.1.0';
