// `kubeport configure`: print (or write) a commented starter config that `kubeport start` accepts.
import { parseConfig, renderConfigTemplate } from "../../config/index.ts";
import { writePrivateFile } from "../../lib/private-files.ts";
import { parseKeyValues, parseList, stringOpt } from "../args.ts";
import type { Command } from "../command.ts";
import { documentFormat } from "../output.ts";

export const configureCommand: Command = {
  name: "configure",
  summary: "Print a commented starter config (discovery + gateway + kubernetes service).",
  options: {
    "discovery-group": {
      type: "string",
      valueName: "G",
      description: "discovery_service.discovery_group",
      default: "aws-prod",
    },
    tags: {
      type: "string",
      valueName: "k=v,…",
      description: "EKS tags to match (and labels the kubernetes service serves)",
    },
    regions: { type: "string", valueName: "r1,r2", description: "AWS regions to poll", default: "*" },
    "data-dir": {
      type: "string",
      valueName: "DIR",
      description: "kubeport.data_dir",
      default: "/var/lib/kubeport",
    },
    "storage-url": {
      type: "string",
      valueName: "URL",
      description: "redis://… to share the registry (HA); SQLite when omitted",
    },
    "listen-addr": {
      type: "string",
      valueName: "HOST:PORT",
      description: "proxy_service.listen_addr",
      default: "0.0.0.0:3080",
    },
    token: {
      type: "string",
      valueName: "TOKEN",
      description: "join_params.token_name (a token or a file holding one)",
    },
    out: { type: "string", valueName: "FILE", description: "write to FILE (mode 0600) instead of stdout" },
    output: {
      type: "string",
      short: "o",
      valueName: "FORMAT",
      description: "yaml (the only one: a config file)",
    },
  },
  help: "Example:\n  kubeport configure --discovery-group prod --tags env=prod --regions us-east-1 --out /etc/kubeport.yaml",
  async run(ctx) {
    documentFormat(ctx.values, ["yaml"]);
    const tags = stringOpt(ctx.values, "tags");
    const regions = stringOpt(ctx.values, "regions");
    const text = renderConfigTemplate({
      discoveryGroup: stringOpt(ctx.values, "discovery-group"),
      tags: tags ? parseKeyValues(tags, "tags") : undefined,
      regions: regions ? parseList(regions) : undefined,
      dataDir: stringOpt(ctx.values, "data-dir"),
      storageUrl: stringOpt(ctx.values, "storage-url"),
      token: stringOpt(ctx.values, "token"),
      listenAddr: stringOpt(ctx.values, "listen-addr"),
    });
    // Refuse to emit a file start would reject (e.g. a bad regex in --tags): report it now.
    parseConfig(text, "generated config", { env: ctx.env });
    const file = stringOpt(ctx.values, "out");
    if (file) {
      // It may hold a Redis password or a join token: 0600 even when the file existed.
      writePrivateFile(file, text);
      ctx.err(`wrote ${file}\n`);
    } else ctx.out(text);
  },
};
