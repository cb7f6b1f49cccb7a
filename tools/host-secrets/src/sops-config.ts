import { type Document, isMap, isScalar, isSeq, parseDocument, type Scalar, YAMLMap, YAMLSeq } from "yaml";
import { HOST_NAME_PATTERN } from "./host-secrets";

const AGE_RECIPIENT_PATTERN = /^age1[02-9ac-hj-np-z]{58}$/;

/** The creation rule path of a server's secrets file (matched against relative or absolute paths). */
export function hostPathRegex(host: string): string {
  return `(^|/)secrets/hosts/${host}\\.yaml$`;
}

function requireSeq(doc: Document, path: string[]): YAMLSeq {
  const node = doc.getIn(path, true);
  if (!isSeq(node)) throw new Error(`.sops.yaml: expected a list at ${path.join(".")}`);
  return node;
}

/**
 * Records a server's age recipient in `.sops.yaml`: sets the value of its `&<host>` anchor under
 * `keys.servers`, or adds the anchor and a creation rule that encrypts `secrets/hosts/<host>.yaml` for
 * every admin and that server. Comments and layout of the rest of the file are kept.
 */
export function setServerRecipient(sopsConfig: string, host: string, recipient: string): string {
  if (!HOST_NAME_PATTERN.test(host)) throw new Error(`"${host}" is not a valid host name`);
  if (!AGE_RECIPIENT_PATTERN.test(recipient)) throw new Error(`"${recipient}" is not an age recipient`);
  const doc = parseDocument(sopsConfig);
  if (doc.errors.length > 0) throw new Error(`.sops.yaml does not parse: ${doc.errors[0]?.message}`);
  const admins = requireSeq(doc, ["keys", "admins"]).items.filter((item): item is Scalar => isScalar(item));
  if (admins.length === 0) throw new Error(".sops.yaml: keys.admins lists no admin key");
  const servers = requireSeq(doc, ["keys", "servers"]);
  const existing = servers.items.find((item): item is Scalar => isScalar(item) && item.anchor === host);
  if (existing) {
    existing.value = recipient;
    return doc.toString();
  }
  const serverKey = doc.createNode(recipient) as Scalar;
  serverKey.anchor = host;
  servers.items.push(serverKey);
  const ageList = new YAMLSeq();
  ageList.items.push(...admins.map((admin) => doc.createAlias(admin)), doc.createAlias(serverKey));
  const group = new YAMLMap();
  group.set("age", ageList);
  const groups = new YAMLSeq();
  groups.items.push(group);
  const rule = new YAMLMap();
  rule.set("path_regex", hostPathRegex(host));
  rule.set("key_groups", groups);
  // After the other servers' rules, so the file keeps reading servers first, shared files last.
  const rules = requireSeq(doc, ["creation_rules"]);
  const lastServerRule = rules.items.findLastIndex(
    (item) => isMap(item) && String(item.get("path_regex")).includes("secrets/hosts/"),
  );
  rules.items.splice(lastServerRule + 1, 0, rule);
  return doc.toString();
}
