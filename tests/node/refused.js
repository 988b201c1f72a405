// A node-postgres client, as an MCP server or an agent's tool uses it:
// connect (PGHOST, PGPORT, PGUSER, PGDATABASE from the environment), run
// the statement given as the first argument, and print what the driver
// gives of the error as one JSON object: {"message": ..., "code": ...}
// ({"ok": true} when it did not fail).  tests/t/069_node_pg.pl runs it.
'use strict';

const { Client } = require('pg');

async function main() {
  const sql = process.argv[2];
  const client = new Client();
  await client.connect();
  try {
    await client.query(sql);
    console.log(JSON.stringify({ ok: true }));
  } catch (err) {
    console.log(JSON.stringify({ message: err.message, code: err.code }));
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  console.error(`refused.js: ${err.stack || err}`);
  process.exit(2);
});
