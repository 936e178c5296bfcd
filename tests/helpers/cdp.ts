/**
 * Headless Chromium driven over the DevTools protocol with Deno's own WebSocket (no npm
 * package, no downloaded browser): launch, evaluate, wait for a condition, set file inputs,
 * screenshot. Every wait has a deadline; `close` kills the browser and removes its profile.
 */
import { join } from "node:path";

/** The Chromium to drive: $DD_CHROMIUM, else the first of the usual names on PATH. */
export async function findChromium(): Promise<string> {
  const env = Deno.env.get("DD_CHROMIUM");
  if (env) return env;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
      try {
        if ((await Deno.stat(join(dir, name))).isFile) return join(dir, name);
      } catch { /* not here */ }
    }
  }
  throw new Error(
    "headless Chromium not found (set DD_CHROMIUM, or `apt-get install chromium`; .ci/run does)",
  );
}

type Params = Record<string, unknown>;

/** One page of a headless Chromium. */
export class Browser {
  #next = 1;
  #pending = new Map<number, { ok: (v: Params) => void; fail: (e: Error) => void }>();
  #listeners: ((method: string, params: Params) => void)[] = [];
  /** Uncaught exceptions and console errors of the page. */
  readonly pageErrors: string[] = [];

  private constructor(
    private readonly child: Deno.ChildProcess,
    private readonly ws: WebSocket,
    private readonly profile: string,
    private readonly stderr: string[],
  ) {
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data as string);
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.fail(new Error(`CDP ${msg.error.message}`));
        else p?.ok(msg.result ?? {});
      } else for (const l of this.#listeners) l(msg.method, msg.params ?? {});
    };
    ws.onclose = () => {
      for (const p of this.#pending.values()) p.fail(new Error("DevTools connection closed"));
      this.#pending.clear();
    };
    this.#listeners.push((method, params) => {
      if (method === "Runtime.exceptionThrown") {
        const d = params.exceptionDetails as { text: string; exception?: { description?: string } };
        this.pageErrors.push(d.exception?.description ?? d.text);
      } else if (method === "Runtime.consoleAPICalled" && params.type === "error") {
        this.pageErrors.push(JSON.stringify(params.args));
      } else if (method === "Page.javascriptDialogOpening") {
        void this.send("Page.handleJavaScriptDialog", { accept: true }).catch(() => {});
      }
    });
  }

  /**
   * Starts Chromium headless with an empty profile and every host but loopback unreachable.
   *
   * @param width Window width in CSS pixels.
   * @param height Window height.
   * @param opts `webgpu`: offer WebGPU on SwiftShader (Chromium's CPU Vulkan) instead of no GPU.
   */
  static async launch(
    width = 1280,
    height = 1000,
    opts: { webgpu?: boolean } = {},
  ): Promise<Browser> {
    const chromium = await findChromium();
    const profile = await Deno.makeTempDir({ prefix: "dd-chromium-" });
    const child = new Deno.Command(chromium, {
      args: [
        "--headless",
        "--no-sandbox",
        ...(opts.webgpu
          ? ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"]
          : ["--disable-gpu"]),
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        `--window-size=${width},${height}`,
        `--user-data-dir=${profile}`,
        // Everything but loopback (which bypasses proxies) goes to a closed port.
        "--proxy-server=http://127.0.0.1:9",
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr: string[] = [];
    void (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        stderr.push(chunk);
      }
    })().catch(() => {});
    try {
      const port = await waitFor(
        async () => {
          const text = await Deno.readTextFile(join(profile, "DevToolsActivePort")).catch(() => "");
          return /^\d+\n/.test(text) ? Number(text.split("\n")[0]) : undefined;
        },
        30_000,
        () => `Chromium did not start: ${stderr.join("").slice(-2000)}`,
      );
      const targets = await waitFor(
        async () => {
          const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
          return (list as { type: string; webSocketDebuggerUrl: string }[])
            .find((t) => t.type === "page");
        },
        10_000,
        () => "Chromium has no page",
      );
      const ws = new WebSocket(targets.webSocketDebuggerUrl);
      await new Promise((ok, fail) => {
        ws.onopen = ok;
        ws.onerror = () => fail(new Error("DevTools WebSocket failed"));
      });
      const b = new Browser(child, ws, profile, stderr);
      await b.send("Page.enable");
      await b.send("Runtime.enable");
      return b;
    } catch (e) {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw e;
    }
  }

  /** Sends one command; rejects after 60 s. */
  send(method: string, params: Params = {}): Promise<Params> {
    const id = this.#next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise<Params>((ok, fail) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        fail(new Error(`CDP ${method} timed out`));
      }, 60_000);
      this.#pending.set(id, {
        ok: (v) => (clearTimeout(timer), ok(v)),
        fail: (e) => (clearTimeout(timer), fail(e)),
      });
    });
  }

  /** Opens `url` and waits for its load event. */
  async goto(url: string): Promise<void> {
    const loaded = new Promise<void>((ok) => {
      const l = (method: string) => {
        if (method === "Page.loadEventFired") {
          this.#listeners = this.#listeners.filter((x) => x !== l);
          ok();
        }
      };
      this.#listeners.push(l);
    });
    await this.send("Page.navigate", { url });
    await Promise.race([
      loaded,
      new Promise((_, fail) => setTimeout(() => fail(new Error(`${url} never loaded`)), 30_000)),
    ]);
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its JSON value. */
  async eval<T = unknown>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    });
    const ex = r.exceptionDetails as { text: string; exception?: { description?: string } };
    if (ex) throw new Error(`page: ${ex.exception?.description ?? ex.text}`);
    return (r.result as { value: T }).value;
  }

  /** Waits until `expression` is truthy in the page; returns its value. */
  until<T>(expression: string, what: string, ms = 60_000): Promise<T> {
    return waitFor(
      async () => (await this.eval<T>(expression)) || undefined,
      ms,
      async () => {
        const err = await this.eval<string>(`document.getElementById("error")?.textContent`)
          .catch(() => "?");
        return `timed out waiting for ${what} (page error box: ${JSON.stringify(err)})`;
      },
    );
  }

  /** Sets the value of an input and fires `input` and `change`. */
  async type(selector: string, value: string): Promise<void> {
    await this.eval(`(() => {
      const el = document.querySelector(${JSON.stringify(selector)});
      el.value = ${JSON.stringify(value)};
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    })()`);
  }

  /** Clicks the element matching `selector`. */
  async click(selector: string): Promise<void> {
    await this.eval(`document.querySelector(${JSON.stringify(selector)}).click()`);
  }

  /** Puts `files` (paths) into a file input (Chromium fires its change event). */
  async setFiles(selector: string, files: string[]): Promise<void> {
    const r = await this.send("Runtime.evaluate", {
      expression: `document.querySelector(${JSON.stringify(selector)})`,
    });
    const objectId = (r.result as { objectId: string }).objectId;
    await this.send("DOM.setFileInputFiles", { files, objectId });
  }

  /** A PNG of the whole page. */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
    });
    return Uint8Array.from(atob(r.data as string), (c) => c.charCodeAt(0));
  }

  /** Kills the browser and removes its profile. */
  async close(): Promise<void> {
    try {
      this.ws.close();
    } catch { /* already closed */ }
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.child.status;
    await Deno.remove(this.profile, { recursive: true }).catch(() => {});
  }

  /** Chromium's stderr so far. */
  log(): string {
    return this.stderr.join("");
  }
}

/** Polls `probe` every 100 ms until it returns a value; throws `message()` after `ms`. */
async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  ms: number,
  message: () => string | Promise<string>,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(await message());
    await new Promise((r) => setTimeout(r, 100));
  }
}
