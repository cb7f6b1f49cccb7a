import * as pulumi from "@pulumi/pulumi";

// One StackReference per project and program run: every getter of a layer shares it.
const references = new Map<string, pulumi.StackReference>();

/** The fully qualified name of a project's stack: `<org>/<project>/<stack>`, the same server's by default. */
export function stackName(project: string, stack = pulumi.getStack()): string {
  return `${pulumi.getOrganization()}/${project}/${stack}`;
}

/** The (cached) StackReference to another project's stack of the same server. */
export function getStack(project: string): pulumi.StackReference {
  return getStackOf(project, pulumi.getStack());
}

/**
 * The (cached) StackReference to a project's stack of any server. Only the site-wide readers use
 * another server's: every server's private DNS (and Headscale) reads each server's private names.
 */
export function getStackOf(project: string, stack: string): pulumi.StackReference {
  const name = stackName(project, stack);
  let reference = references.get(name);
  if (!reference) {
    reference = new pulumi.StackReference(name);
    references.set(name, reference);
  }
  return reference;
}

/**
 * An output of another project's stack of the same server. It stays a secret when that
 * project exported it as one. If the project does not export it, the program fails with the
 * reading project, the stack and the output named.
 */
export function requireStackOutput<T>(project: string, output: string): pulumi.Output<T> {
  const reference = getStack(project);
  const details = reference.getOutputDetails(output).then((found) => {
    if (found.value === undefined && found.secretValue === undefined) {
      throw new Error(
        `Project "${pulumi.getProject()}" on stack "${pulumi.getStack()}" reads output "${output}" of project ` +
          `"${project}" (${stackName(project)}), which does not export it. Deploy "${project}" on ` +
          `"${pulumi.getStack()}" first, or check the output's name.`,
      );
    }
    return found;
  });
  return pulumi
    .output(details)
    .apply((found) =>
      found.secretValue === undefined ? found.value : pulumi.secret(found.secretValue),
    ) as pulumi.Output<T>;
}
