// CLI: `bun src/sim/aws/main.ts [--seed FILE] [--port N]` runs the simulator and prints its URL and env.
import { parseArgs } from "node:util";
import { loadSeedFile } from "./seed.ts";
import { startAwsSim } from "./server.ts";
import type { AwsSimOptions } from "./types.ts";

const { values } = parseArgs({
  options: { seed: { type: "string" }, port: { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  console.log(
    "usage: bun src/sim/aws/main.ts [--seed FILE.yaml] [--port N]\nPrints the URL and `export` lines, then serves until SIGINT/SIGTERM.",
  );
  process.exit(0);
}
let opts: AwsSimOptions = {};
try {
  if (values.seed) opts = await loadSeedFile(values.seed);
} catch (e) {
  console.error(`aws-sim: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
}
if (values.port !== undefined) opts.port = Number(values.port);
const sim = await startAwsSim(opts);
console.log(`AWS simulator listening on ${sim.url} (${sim.state.listClusters().length} clusters)`);
for (const [k, v] of Object.entries(sim.env)) console.log(`export ${k}=${v}`);
const stop = async () => {
  await sim.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
