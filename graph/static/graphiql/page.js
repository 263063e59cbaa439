// FisioFlow's GraphiQL page: every asset is served by this server (no CDN), and nothing the
// user types is copied into the address bar or browser storage by this page. Header values
// (tokens) never enter the URL (CVE-2026-45739) and are not persisted (shouldPersistHeaders:
// false); queries and variables are not mirrored into the URL either, since they may carry
// patients' data (names, CPF) that would end up in browser history and proxy logs.
(function () {
  "use strict";
  var url = window.location.origin + window.location.pathname;
  var subscriptionUrl = url.replace(/^http/, "ws");
  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: subscriptionUrl });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: "# Add your token in Headers below: {\"Authorization\": \"Bearer ...\"}\n{\n  me {\n    email\n    role\n  }\n}\n",
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    })
  );
})();
