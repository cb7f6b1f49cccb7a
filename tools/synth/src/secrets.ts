/** The marker the Pulumi SDK wraps secret values in when it hands them to mocks. */
export const secretSignatureKey = "4dabf18193072939515e22adb298388d";
export const secretSignatureValue = "1b47061264138c4ac30d75fd1eb44270";

/** What synth writes in place of a secret. */
export const redacted = "[secret]";

/** Whether a value is a secret wrapped by the SDK. */
export function isWrappedSecret(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[secretSignatureKey] === secretSignatureValue
  );
}

/** Replaces every wrapped secret in a value with the redaction marker. */
export function redactSecrets(value: unknown): unknown {
  if (isWrappedSecret(value)) return redacted;
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactSecrets(item)]));
  }
  return value;
}

/** Removes the secret wrappers, keeping the values (what the provider would see). */
export function unwrapSecrets(value: unknown): unknown {
  if (isWrappedSecret(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unwrapSecrets(item)]));
  }
  return value;
}
