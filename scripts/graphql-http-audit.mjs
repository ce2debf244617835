import { auditServer } from 'graphql-http';
// Usage: node graphql-http-audit.mjs http://127.0.0.1:PORT/graphql
const url = process.argv[2];
const results = await auditServer({ url });
let mustFail = 0;
for (const r of results) {
  if (r.status !== 'ok') {
    const level = r.name.split(' ')[0];
    if (level === 'MUST') mustFail++;
    console.log(`${r.status.toUpperCase()} ${r.name}: ${r.reason ?? ''}`);
  }
}
console.log(`${results.length} audits, ${results.filter(r => r.status === 'ok').length} ok, ${mustFail} MUST failures`);
process.exit(mustFail ? 1 : 0);
