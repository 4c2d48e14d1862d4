// make contract: parse events/asyncapi.json with the AsyncAPI parser
// (@asyncapi/parser, pinned in test/package.json), which resolves its $refs
// into events/schemas/ and applies the AsyncAPI ruleset. Errors and warnings
// fail, and are printed with the informational notes; otherwise it prints a
// one-line summary.
'use strict';
const path = require('path');
const { Parser, fromFile, DiagnosticSeverity } = require('@asyncapi/parser');

const file = process.argv[2];
if (!file) {
  console.error('usage: node test/contract/asyncapi.js <asyncapi document>');
  process.exit(2);
}

(async () => {
  const { document, diagnostics } = await fromFile(new Parser(), path.resolve(file)).parse();
  const count = (s) => diagnostics.filter((d) => d.severity === s).length;
  const errors = count(DiagnosticSeverity.Error);
  const warnings = count(DiagnosticSeverity.Warning);
  const names = { [DiagnosticSeverity.Error]: 'error', [DiagnosticSeverity.Warning]: 'warning',
    [DiagnosticSeverity.Information]: 'info', [DiagnosticSeverity.Hint]: 'hint' };
  const failed = !document || errors + warnings > 0;
  for (const d of failed ? diagnostics : []) {
    console.log(`  ${names[d.severity]} ${d.code} at ${d.path.join('/') || '/'}: ${d.message}`);
  }
  const messages = document ? document.allMessages().length : 0;
  const notes = diagnostics.length - errors - warnings;
  console.log(`asyncapi parser: ${errors} errors, ${warnings} warnings, ${notes} notes (${messages} messages)`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
