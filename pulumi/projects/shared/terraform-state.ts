import { join, relative } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as terraform from "@pulumi/terraform";

/** The outputs every Terraform provider module of this repository exports. */
export interface TerraformServerOutputs {
  id: string;
  ssh_host: string;
  ssh_port: number;
  ssh_user: string;
  internal_ip: string;
  public_ip: string;
}

const requiredOutputs = ["id", "ssh_host", "ssh_port", "ssh_user", "internal_ip", "public_ip"] as const;

/**
 * Reads the server's outputs from the local state of its Terraform instance
 * (terraform/instances/<server>/terraform.tfstate beside servers/), failing with what is missing.
 */
export function readTerraformServer(serversDir: string, name: string): pulumi.Output<TerraformServerOutputs> {
  // Relative to the program's directory, as Terraform's local backend paths are usually given.
  const path = relative(
    process.cwd(),
    join(serversDir, "..", "terraform", "instances", name, "terraform.tfstate"),
  );
  const state = terraform.state.getLocalReference({ path }).catch((error: unknown) => {
    throw new Error(
      `Stack "${name}": cannot read the Terraform state "${path}": ` +
        `${error instanceof Error ? error.message : String(error)}. Create the server first (task servers:apply HOST=${name}).`,
    );
  });
  return pulumi.output(state).apply((result) => {
    const missing = requiredOutputs.filter((output) => result.outputs[output] === undefined);
    if (missing.length > 0) {
      throw new Error(
        `Stack "${name}": the Terraform state "${path}" lacks the output(s) ${missing.join(", ")}; ` +
          "every provider module must export id, ssh_host, ssh_port, ssh_user, internal_ip and public_ip.",
      );
    }
    return result.outputs as TerraformServerOutputs;
  });
}
