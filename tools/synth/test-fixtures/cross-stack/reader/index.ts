import * as pulumi from "@pulumi/pulumi";

// A site-wide reader: the names of every server, read from each server's own stack.
const servers = ["east", "west"];

export const names = pulumi
  .all(
    servers.map((server) => new pulumi.StackReference(`organization/names/${server}`).requireOutput("names")),
  )
  .apply((lists) => (lists as string[][]).flat());
