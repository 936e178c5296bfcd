/**
 * Dispatching async training jobs through the platform's own queue (issue 15), so that a job
 * runs as an internal request the platform counts as load, times out and retries, instead of
 * in the background of whichever instance accepted it:
 *
 * - `cloudtasks` (Cloud Run): a Cloud Tasks HTTP task per job (`DD_CLOUD_TASKS_QUEUE`), named
 *   after the job (so a duplicate is refused by Cloud Tasks), that POSTs
 *   `{jobId}` to `DD_SERVICE_URL/internal/jobs/run`, with an OIDC token of
 *   `DD_CLOUD_TASKS_SERVICE_ACCOUNT` when set. The task is created with the instance's own
 *   service-account token from the metadata server (`GCE_METADATA_HOST`).
 * - `knative` (Knative Eventing): a binary-mode CloudEvent of type
 *   `dev.dreamdistribution.job.run` POSTed to the broker (`DD_EVENTING_BROKER_URL`, or `K_SINK`
 *   from a SinkBinding); a Trigger delivers it to `/internal/jobs/run` with the broker's
 *   retries (deploy/knative/trigger.yaml).
 *
 * Either way the body is signed with HMAC-SHA256 under `DD_INTERNAL_SECRET`
 * (`X-DD-Internal-Signature`, or the CloudEvent extension `ddsignature`, which the broker
 * forwards as `ce-ddsignature`); `/internal/jobs/run` refuses anything else. `inprocess` (the
 * default) keeps running jobs in the accepting instance (functions/lib/jobs.ts).
 *
 * @example
 * ```ts
 * import { dispatcherFromConfig } from "./job_dispatch.ts";
 * import { parseConfig } from "../config.ts";
 * console.assert(dispatcherFromConfig(parseConfig({})) === null);
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { signBody } from "./webhook.ts";

/** The header carrying the body's signature on internal requests. */
export const INTERNAL_SIGNATURE_HEADER = "X-DD-Internal-Signature";
/** The CloudEvent type of a job to run. */
export const JOB_EVENT_TYPE = "dev.dreamdistribution.job.run";

/** Sends a job to the platform's queue. */
export interface JobDispatcher {
  readonly kind: "cloudtasks" | "knative";
  /**
   * Enqueues the run of `jobId`.
   * @throws {ApiError} 503 `dispatch_failed` when the queue refuses or cannot be reached.
   */
  dispatch(jobId: string): Promise<void>;
}

/**
 * The body of an internal run request, exactly as signed.
 *
 * @param jobId The job.
 * @returns `{"jobId":"..."}` as bytes.
 */
export function runBody(jobId: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ jobId }));
}

/**
 * The dispatcher a configuration names, or null for `inprocess`.
 *
 * @param config The server configuration (checked by parseConfig: the settings a kind needs
 * are present).
 * @param fetchFn The fetch to use (default the global one).
 * @returns The dispatcher, or null.
 */
export function dispatcherFromConfig(
  config: Config,
  fetchFn: typeof fetch = fetch,
): JobDispatcher | null {
  const d = config.dispatch;
  if (d.kind === "inprocess") return null;
  const fail = (why: string) => new ApiError(503, "dispatch_failed", `job dispatch: ${why}`, 5);
  const send = async (url: string, init: RequestInit, what: string): Promise<Response> => {
    let res: Response;
    try {
      res = await fetchFn(url, { ...init, signal: AbortSignal.timeout(config.fetchTimeoutMs) });
    } catch (e) {
      throw fail(`${what}: ${(e as Error).message}`);
    }
    return res;
  };
  if (d.kind === "knative") {
    const broker = d.brokerUrl;
    return {
      kind: "knative",
      async dispatch(jobId) {
        const body = runBody(jobId);
        const res = await send(broker, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "ce-specversion": "1.0",
            "ce-id": jobId,
            "ce-source": "dreamdistribution",
            "ce-type": JOB_EVENT_TYPE,
            "ce-ddsignature": await signBody(d.secret, body),
          },
          body: body as Uint8Array<ArrayBuffer>,
        }, "broker");
        await res.body?.cancel();
        if (!res.ok) throw fail(`the broker answered HTTP ${res.status}`);
      },
    };
  }
  const metadata = `http://${d.metadataHost}`;
  return {
    kind: "cloudtasks",
    async dispatch(jobId) {
      const tokenRes = await send(
        `${metadata}/computeMetadata/v1/instance/service-accounts/default/token`,
        { headers: { "Metadata-Flavor": "Google" } },
        "metadata server",
      );
      if (!tokenRes.ok) {
        await tokenRes.body?.cancel();
        throw fail(`the metadata server answered HTTP ${tokenRes.status}`);
      }
      const token = (await tokenRes.json() as { access_token?: string }).access_token;
      if (!token) throw fail("the metadata server gave no access token");
      const body = runBody(jobId);
      const task = {
        name: `${d.queue}/tasks/${jobId.replace(/[^A-Za-z0-9_-]/g, "-")}`,
        dispatchDeadline: `${Math.min(1800, Math.ceil(config.requestTimeoutMs / 1000) + 30)}s`,
        httpRequest: {
          httpMethod: "POST",
          url: `${d.serviceUrl.replace(/\/+$/, "")}/internal/jobs/run`,
          headers: {
            "Content-Type": "application/json",
            [INTERNAL_SIGNATURE_HEADER]: await signBody(d.secret, body),
          },
          body: Buffer.from(body).toString("base64"),
          ...(d.serviceAccount
            ? { oidcToken: { serviceAccountEmail: d.serviceAccount, audience: d.serviceUrl } }
            : {}),
        },
      };
      const res = await send(`${d.endpoint.replace(/\/+$/, "")}/v2/${d.queue}/tasks`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ task }),
      }, "Cloud Tasks");
      await res.body?.cancel();
      // 409: a task of that name exists already (a retried submission): it will run once.
      if (!res.ok && res.status !== 409) throw fail(`Cloud Tasks answered HTTP ${res.status}`);
    },
  };
}

/**
 * Checks an internal request's signature (constant-time compare).
 *
 * @param secret DD_INTERNAL_SECRET.
 * @param body The raw body.
 * @param signature The header's value (`sha256=<hex>`), or null.
 * @returns Whether it is the body's signature under `secret`.
 */
export async function verifyInternal(
  secret: string,
  body: Uint8Array,
  signature: string | null,
): Promise<boolean> {
  if (secret === "" || signature === null) return false;
  const want = new TextEncoder().encode(await signBody(secret, body));
  const got = new TextEncoder().encode(signature);
  if (want.length !== got.length) return false;
  let diff = 0;
  for (let i = 0; i < want.length; i++) diff |= want[i]! ^ got[i]!;
  return diff === 0;
}
