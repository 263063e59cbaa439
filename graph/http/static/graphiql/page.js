// FisioFlow's GraphiQL page: every asset is served by this server (no CDN).
//
// Header values carry tokens, so they never leave the Headers editor (CVE-2026-45739): this
// page puts nothing in the address bar (no query, variables or headers in the URL, which
// also keeps patients' data out of browser history and proxy logs), headers are not
// persisted (shouldPersistHeaders: false), and the storage below strips `headers` from what
// GraphiQL saves, since its history keeps them even when told not to persist headers.
(function () {
  "use strict";

  function withoutHeaders(value) {
    var removed = false;
    try {
      var parsed = JSON.parse(value, function (key, item) {
        if (key === "headers") {
          removed = true;
          return undefined;
        }
        return item;
      });
      return removed ? JSON.stringify(parsed) : value;
    } catch (notJson) {
      return value;
    }
  }

  var storage = {
    getItem: function (key) {
      return window.localStorage.getItem(key);
    },
    setItem: function (key, value) {
      if (/headers$/i.test(key)) return;
      window.localStorage.setItem(key, withoutHeaders(value));
    },
    removeItem: function (key) {
      window.localStorage.removeItem(key);
    },
    clear: function () {
      window.localStorage.clear();
    },
    get length() {
      return window.localStorage.length;
    },
  };

  var url = window.location.origin + window.location.pathname;
  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: url.replace(/^http/, "ws") });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      defaultQuery:
        '# Put your token in Headers below: {"Authorization": "Bearer ..."}\n' +
        "{\n  me {\n    email\n    role\n  }\n}\n",
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    })
  );
})();
