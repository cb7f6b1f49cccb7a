import { randomString } from "@infra/app-secrets";

/**
 * What Syncthing's GUI is guarded by, the same on every server: its user and password (Syncthing
 * stores only a bcrypt hash of the password). Given to the operator as secret outputs.
 */
export const secrets = {
  guiUser: randomString(16),
  guiPassword: randomString(32),
};
