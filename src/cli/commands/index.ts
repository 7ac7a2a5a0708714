// The command table. Every `kubeport` command is a module here, registered with one line.
//
// Module shape (see ../command.ts):
//   export const fooCommand: Command = {
//     name: "foo",                       // the word on the command line
//     summary: "one line for the list",
//     usage: "NAME [NAME…]",             // positional part of the usage line (optional)
//     options: {                         // node:util parseArgs options + help text (optional)
//       format: { type: "string", description: "text, yaml or json", default: "text", valueName: "FMT" },
//     },
//     subcommands: [ … ],                // a group (optional); its options are inherited below
//     async run(ctx) {                   // ctx: values, positionals, out/err, env, signal, log,
//       …                                //      config(), backend() (opened lazily, closed after)
//       return 0;                        // exit code (default 0); throw UsageError → exit 2,
//     },                                 // ConfigError → exit 2, anything else → exit 1, one line
//   };
// `--help`/`-h` is added to every command. Put admin commands that act on the registry under
// `ctl` (ctlCommands: they inherit -c/--config); the rest at the top level (commands).
// Registration is append-only: add your import and one entry at the end of the right list.
import type { Command } from "../command.ts";
import { auditCommand } from "./audit.ts";
import { authCommand } from "./auth.ts";
import { completionCommand } from "./completion.ts";
import { configureCommand } from "./configure.ts";
import { createCommand } from "./create.ts";
import { demoCommand } from "./demo.ts";
import { discoveryCommand } from "./discovery.ts";
import { getCommand } from "./get.ts";
import { helpCommand } from "./help.ts";
import { inventoryCommand } from "./inventory.ts";
import { kubeCommand } from "./kube.ts";
import { kubeconfigCommand } from "./kubeconfig.ts";
import { lockCommand } from "./lock.ts";
import { loginCommand, logoutCommand, statusCommand } from "./login.ts";
import { playCommand } from "./play.ts";
import { recordingsCommand } from "./recordings.ts";
import { rmCommand } from "./rm.ts";
import { startCommand } from "./start.ts";
import { tokensCommand } from "./tokens.ts";
import { userKubeCommand } from "./user-kube.ts";
import { usersCommand } from "./users.ts";
import { versionCommand } from "./version.ts";

/** `kubeport ctl …`: administration against the registry named by the config. */
export const ctlCommands: Command[] = [
  getCommand,
  rmCommand,
  createCommand,
  tokensCommand,
  inventoryCommand,
  usersCommand,
  authCommand,
  auditCommand,
  kubeCommand,
  discoveryCommand,
  lockCommand,
  recordingsCommand,
];

export const ctlCommand: Command = {
  name: "ctl",
  summary: "Administer kubeport (like tctl): resources, tokens, inventory.",
  options: {
    config: {
      type: "string",
      short: "c",
      valueName: "FILE",
      description: "config file (default $KUBEPORT_CONFIG or /etc/kubeport.yaml)",
    },
  },
  subcommands: ctlCommands,
};

/** Top-level commands. */
export const commands: Command[] = [
  startCommand,
  ctlCommand,
  configureCommand,
  versionCommand,
  helpCommand,
  kubeconfigCommand,
  demoCommand,
  loginCommand,
  logoutCommand,
  statusCommand,
  userKubeCommand,
  playCommand,
  completionCommand,
];
