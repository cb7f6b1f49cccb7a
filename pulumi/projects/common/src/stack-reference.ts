import * as pulumi from "@pulumi/pulumi";

// One StackReference per project and program run: every getter of a layer shares it.
const references = new Map<string, pulumi.StackReference>();

/** The fully qualified name of a project's stack on the same server: `<org>/<project>/<stack>`. */
export function stackName(project: string): string {
  return `${pulumi.getOrganization()}/${project}/${pulumi.getStack()}`;
}

/** The (cached) StackReference to another project's stack of the same server. */
export function getStack(project: string): pulumi.StackReference {
  let reference = references.get(project);
  if (!reference) {
    reference = new pulumi.StackReference(stackName(project));
    references.set(project, reference);
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
