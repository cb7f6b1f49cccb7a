import { randomString } from "@infra/app-secrets";

/**
 * What etebase's users depend on, the same on every server: the first superuser's password, which
 * the operator is given (`pulumi stack output superuser --show-secrets`). Letters and digits only:
 * the image's entrypoint puts it, unescaped, in a quoted Python string.
 */
export const secrets = {
  superuserPassword: randomString(32),
};
