// Runs one subscription with the npm `graphql-ws` client (the one GraphiQL, Apollo and urql
// use) over the `ws` package, since Node 20 has no global WebSocket.
//
//   node subscribe.mjs WS_URL TOKEN QUERY [VARIABLES_JSON]
//
// Prints one JSON line per happening on stdout: {"connected": true} once acknowledged,
// {"next": payload} per event, {"error": ...} on a refusal, {"closed": code, "reason": text}
// when the socket closes. It runs until the subscription ends or the process is terminated.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, query, variables] = process.argv.slice(2);

function print(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  lazy: false,
  retryAttempts: 0,
  on: {
    connected: () => print({ connected: true }),
    closed: (event) => print({ closed: event.code, reason: event.reason }),
  },
  onNonLazyError: (error) => {
    print({ error: error && error.code ? `closed ${error.code}` : String(error) });
    process.exit(1);
  },
});

client.subscribe(
  { query, variables: variables ? JSON.parse(variables) : {} },
  {
    next: (payload) => print({ next: payload }),
    error: (error) => {
      print({ error: Array.isArray(error) ? error : String(error.code ?? error) });
      process.exit(1);
    },
    complete: () => {
      client.dispose();
      process.exit(0);
    },
  },
);
