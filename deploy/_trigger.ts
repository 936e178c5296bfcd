/**
 * `deploy:check`'s check of the Knative Trigger that delivers async training jobs
 * (deploy/knative/trigger.yaml) against the code and the Service manifest.
 *
 * @module
 */
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { JOB_EVENT_TYPE } from "../functions/mod.ts";
import { at, text } from "./_manifest.ts";

/**
 * Checks the Trigger when the Knative Service dispatches jobs through the broker.
 *
 * @param deploy The deploy folder.
 * @param service The parsed Knative Service (its name and DD_JOB_DISPATCH).
 * @param problems Where problems are added.
 * @example
 * ```ts ignore
 * await checkTrigger("deploy", parsedService, problems);
 * ```
 */
export async function checkTrigger(
  deploy: string,
  service: unknown,
  problems: string[],
): Promise<void> {
  const env = (at(service, "spec", "template", "spec", "containers", 0, "env") as unknown[]) ?? [];
  const dispatch = env.find((e) => at(e, "name") === "DD_JOB_DISPATCH");
  if (at(dispatch, "value") !== "knative") return;
  const say = (m: string): void => void problems.push(`deploy/knative/trigger.yaml: ${m}`);
  const src = await text(join(deploy, "knative", "trigger.yaml"));
  if (src === null) return say("missing, but the Service sets DD_JOB_DISPATCH=knative");
  let doc: unknown;
  try {
    doc = parseYaml(src);
  } catch (e) {
    return say(`YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (at(doc, "kind") !== "Trigger" || at(doc, "apiVersion") !== "eventing.knative.dev/v1") {
    say("expected an eventing.knative.dev/v1 Trigger");
  }
  const type = at(doc, "spec", "filter", "attributes", "type");
  if (type !== JOB_EVENT_TYPE) say(`filter type ${type} != the events sent (${JOB_EVENT_TYPE})`);
  const name = at(service, "metadata", "name");
  if (at(doc, "spec", "subscriber", "ref", "name") !== name) {
    say(`subscriber is not the Service ${name}`);
  }
  const uri = at(doc, "spec", "subscriber", "uri");
  if (uri !== "/internal/jobs/run") say(`subscriber uri ${uri} != /internal/jobs/run`);
  if (!(Number(at(doc, "spec", "delivery", "retry")) >= 1)) {
    say("no delivery.retry: an interrupted job would never be resumed");
  }
}
