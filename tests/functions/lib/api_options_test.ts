/**
 * The API's training options: snake_case names mapped to core's, ranges from core, and no
 * defaults filled in at the edge (absent options reach the engine absent, so that it can take
 * them from the model's `_dd_train_defaults` before the paper's).
 */
import assert from "node:assert/strict";
import { optionsSchema, toCoreOptions } from "../../../functions/lib/api_options.ts";
import { parseConfig } from "../../../functions/config.ts";

const schema = optionsSchema(parseConfig({}).limits);

Deno.test("API training options: absent stays absent, names map to core's, ranges hold", () => {
  assert.deepEqual(toCoreOptions(schema.parse({}) as Record<string, unknown>), {});
  assert.deepEqual(
    toCoreOptions(
      schema.parse({ k: 8, batch_size: 2, weight_decay: 0 }) as Record<string, unknown>,
    ),
    { K: 8, batchSize: 2, weightDecay: 0 },
  );
  assert.equal(schema.safeParse({ k: 0 }).success, false, "core's range: K >= 1");
  assert.equal(schema.safeParse({ bogus: 1 }).success, false, "unknown names are refused");
});
