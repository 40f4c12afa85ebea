// The contract diff behind the changelog (codegen/changelog.py): api-smart-diff's apiDiff
// over two OpenAPI documents, read as JSON {"before": ..., "after": ...} on stdin, written
// as a JSON list of {type, action, path, description} on stdout. `type` is api-smart-diff's
// wire-level class (breaking, non-breaking, deprecated, annotation, unclassified);
// codegen/changelog.py maps each change onto the SDK's surface and classifies it for SDK users.
"use strict";
const { apiDiff } = require("api-smart-diff");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const { before, after } = JSON.parse(input);
  const diffs = apiDiff(before, after).map((diff) => ({
    type: diff.type,
    action: diff.action,
    path: diff.path,
    description: diff.description || "",
    // The old and new names of a renamed key (a path whose parameters were renamed).
    ...(diff.action === "rename" ? { before: diff.before, after: diff.after } : {}),
  }));
  process.stdout.write(JSON.stringify(diffs));
});
