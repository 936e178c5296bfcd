/**
 * A loopback TCP server that accepts connections and reads requests but never answers: a
 * frozen S3 endpoint. `close` drops the held connections and the listener.
 */
export interface HungServer {
  endpoint: string;
  /** Connections accepted so far. */
  accepted: () => number;
  close: () => void;
}

/** Starts the server on 127.0.0.1 at a free port. */
export function hungServer(): HungServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  let closed = false;
  (async () => {
    for await (const conn of listener) {
      if (closed) {
        conn.close();
        break;
      }
      conns.push(conn);
      // drain what the client sends, answer nothing
      void conn.readable.pipeTo(new WritableStream()).catch(() => {});
    }
  })().catch(() => {});
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    accepted: () => conns.length,
    close: () => {
      closed = true;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      listener.close();
    },
  };
}
