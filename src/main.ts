// kubeport entry point: argv → cli.
import { runCli } from "./cli/index.ts";

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Exit even if a stray handle would keep the loop alive; output has had time to drain.
setTimeout(() => process.exit(code), 1000).unref();
