// Schema-validation issues (zod) as one line each, path first: the form every file the user writes
// (profiles, workloads) is refused in — "replication.inflightMax: must be …".

import type { z } from 'zod';

/** `cluster.nodes`, `operations[2].proportion`; `(root)` for the whole document. */
export function issuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const prefix = issue.path.length === 0 ? '' : `${issuePath(issue.path)}.`;
      return issue.keys.map((key) => `${prefix}${key}: unknown field`).join('; ');
    }
    return `${issuePath(issue.path)}: ${issue.message}`;
  });
}
