import { stringify } from "yaml";
import { generateK3sCaSet, type K3sCaOptions } from "./k3s-ca";
import { ageRecipientFromSshPublicKey, generateSshHostKey } from "./ssh";

/**
 * The key a k3s tls file is stored under in `secrets/hosts/<host>.yaml` (`k3s/<key>`):
 * `etcd/peer-ca.crt` becomes `etcd_peer_ca_crt`. nixos/modules/kubernetes.nix derives the same names.
 */
export function k3sSecretKey(tlsFile: string): string {
  return tlsFile.replace(/[/.-]/g, "_");
}

export interface HostSecrets {
  /** The plaintext secrets document, to be encrypted with sops as `secrets/hosts/<host>.yaml`. */
  document: string;
  /** The server's SSH public host key. */
  sshPublicKey: string;
  /** The age recipient the server decrypts its secrets with (derived from its SSH host key). */
  ageRecipient: string;
}

export const HOST_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** Generates everything that makes up one server's identity. */
export async function generateHostSecrets(
  host: string,
  tailscaleAuthKey: string,
  options: K3sCaOptions = {},
): Promise<HostSecrets> {
  if (!HOST_NAME_PATTERN.test(host))
    throw new Error(`"${host}" is not a valid host name (lower case, digits, -)`);
  if (!tailscaleAuthKey.trim()) throw new Error("a Tailscale auth key is required");
  const sshKey = generateSshHostKey(`root@${host}`);
  const tls = await generateK3sCaSet(options);
  const document = {
    ssh: { host_ed25519_key: sshKey.privateKey, host_ed25519_key_pub: sshKey.publicKey },
    k3s: Object.fromEntries(Object.entries(tls).map(([file, content]) => [k3sSecretKey(file), content])),
    tailscale: { auth_key: tailscaleAuthKey.trim() },
  };
  return {
    document: stringify(document, { lineWidth: 0 }),
    sshPublicKey: sshKey.publicKey,
    ageRecipient: ageRecipientFromSshPublicKey(sshKey.publicKey),
  };
}
