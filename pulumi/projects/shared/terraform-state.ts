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

/** Reads the server's outputs from its local Terraform state, failing with what is missing. */
export function readTerraformServer(path: string): pulumi.Output<TerraformServerOutputs> {
  const stack = pulumi.getStack();
  const state = terraform.state.getLocalReference({ path }).catch((error: unknown) => {
    throw new Error(
      `Stack "${stack}": cannot read the Terraform state "${path}" (config shared:server.terraformState): ` +
        `${error instanceof Error ? error.message : String(error)}. Create the server first (task servers:apply HOST=${stack}).`,
    );
  });
  return pulumi.output(state).apply((result) => {
    const missing = requiredOutputs.filter((name) => result.outputs[name] === undefined);
    if (missing.length > 0) {
      throw new Error(
        `Stack "${stack}": the Terraform state "${path}" lacks the output(s) ${missing.join(", ")}; ` +
          "every provider module must export id, ssh_host, ssh_port, ssh_user, internal_ip and public_ip.",
      );
    }
    return result.outputs as TerraformServerOutputs;
  });
}
