/** A model worker for the tests: an engine over the tiny SD2 fixture and the folder `init`. */
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Engine } from "../../../core/engine/engine.ts";
import { serveEngine } from "../../../core/engine/worker_host.ts";
import { FsStore } from "../../../core/store/fs_store.ts";
import { SD2_DIR } from "../../helpers/tiny_model.ts";

serveEngine((init) =>
  Promise.resolve(
    new Engine({
      store: new FsStore(init as string),
      resolveModel: () => Promise.resolve({ dir: SD2_DIR, revision: "fixture" }),
      defaultModel: "tiny-sd2-fixture",
      cacheDir: join(tmpdir(), "dd-functions-test-graphs"),
    }),
  )
);
