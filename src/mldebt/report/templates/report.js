/* mldebt HTML report: builds the findings list from the embedded JSON, filters it, sorts the
   tables. Every piece of analysed text goes into the page through textContent or text nodes,
   never as markup. */
(function () {
  "use strict";

  var PAGE = 100;
  var data = JSON.parse(document.getElementById("mldebt-data").textContent);
  var paths = data.paths;
  var rules = data.rules;
  var findings = data.findings;
  var list = document.getElementById("finding-list");
  var counter = document.getElementById("finding-count");
  var more = document.getElementById("more");
  var form = document.getElementById("filters");
  var controls = {
    category: document.getElementById("f-category"),
    severity: document.getElementById("f-severity"),
    rule: document.getElementById("f-rule"),
    status: document.getElementById("f-status"),
    path: document.getElementById("f-path"),
    search: document.getElementById("f-search")
  };
  var known = {};
  paths.forEach(function (p) {
    known[p.toLowerCase()] = true;
  });
  var matching = [];
  var shown = 0;

  findings.forEach(function (f, i) {
    var rule = rules[f.r] || {};
    f.i = i;
    f.q = [f.m, f.r, rule.name || "", paths[f.p], f.k].join("\n").toLowerCase();
  });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function number(n) {
    return Number(n).toLocaleString("en-US");
  }

  /* Minutes as "1d 2h 5min" (8-hour days), half up, as the text report prints them. */
  function duration(minutes) {
    var total = Math.floor(minutes + 0.5);
    var rest = total % 60;
    var hours = Math.floor(total / 60);
    var days = Math.floor(hours / 8);
    hours = hours % 8;
    var parts = [];
    if (days) parts.push(days + "d");
    if (hours) parts.push(hours + "h");
    if (rest) parts.push(rest + "min");
    return parts.join(" ") || "0min";
  }

  function where(pathIndex, cell, line, column) {
    var text = paths[pathIndex];
    if (cell !== undefined && cell !== null) text += ":cell " + cell;
    text += ":" + line;
    if (column !== undefined) text += ":" + column;
    return text;
  }

  function codeLine(segments, number, hit) {
    var row = el("span", hit ? "ln-row hit" : "ln-row");
    row.appendChild(el("span", "ln", number));
    segments.forEach(function (segment) {
      if (typeof segment === "string") {
        row.appendChild(document.createTextNode(segment));
      } else {
        row.appendChild(el("span", "t" + segment[0], segment[1]));
      }
    });
    row.appendChild(document.createTextNode("\n"));
    return row;
  }

  function codeBlock(snippet) {
    var pre = el("pre", "code");
    var code = el("code");
    snippet.t.forEach(function (segments, k) {
      var line = snippet.a + k;
      code.appendChild(codeLine(segments, line, line >= snippet.h[0] && line <= snippet.h[1]));
    });
    pre.appendChild(code);
    return pre;
  }

  function inlineCode(snippet) {
    var code = el("code");
    snippet.t[0].forEach(function (segment) {
      code.appendChild(
        typeof segment === "string" ? document.createTextNode(segment) : el("span", "t" + segment[0], segment[1])
      );
    });
    return code;
  }

  function ruleDocs(code) {
    var details = el("details", "doc");
    var rule = rules[code] || {};
    details.appendChild(el("summary", null, "About " + code + " " + (rule.name || "") + ": why it is debt, what to do"));
    details.addEventListener("toggle", function () {
      if (!details.open || details.childNodes.length > 1) return;
      var source = document.getElementById("rule-" + code);
      var body = source && source.querySelector(".doc-body");
      details.appendChild(body ? body.cloneNode(true) : el("p", "empty", "No documentation for this rule."));
    });
    return details;
  }

  /* The message as a heading, `quoted code` in code elements (as text, like the rest). */
  function message(text) {
    var heading = el("h3");
    var parts = String(text).split("`");
    if (parts.length % 2 === 0) parts = [String(text)];
    parts.forEach(function (part, k) {
      if (!part) return;
      heading.appendChild(k % 2 ? el("code", null, part) : document.createTextNode(part));
    });
    return heading;
  }

  function renderFinding(f) {
    var rule = rules[f.r] || {};
    var article = el("article", "finding sev-" + f.s);
    article.id = "finding-" + f.i;
    article.appendChild(message(f.m));
    var meta = el("div", "finding-meta");
    meta.appendChild(el("span", "sev", f.s));
    if (f.st) meta.appendChild(el("span", "status status-" + f.st, f.st));
    var ruleLink = el("a", "rule-code", f.r);
    ruleLink.href = "#rule-" + f.r;
    meta.appendChild(ruleLink);
    meta.appendChild(el("span", null, rule.name || ""));
    meta.appendChild(el("span", null, f.k));
    meta.appendChild(el("span", "where", where(f.p, f.n, f.l, f.c)));
    meta.appendChild(el("span", null, "debt " + duration(f.d)));
    article.appendChild(meta);
    if (f.x) article.appendChild(codeBlock(f.x));
    if (f.rel && f.rel.length) {
      var related = el("ul", "related");
      related.setAttribute("aria-label", "Related locations");
      f.rel.forEach(function (r) {
        var item = el("li");
        item.appendChild(el("span", "where", where(r.p, r.n, r.l)));
        if (r.m) item.appendChild(document.createTextNode(" " + r.m + " "));
        if (r.x) item.appendChild(inlineCode(r.x));
        related.appendChild(item);
      });
      article.appendChild(related);
    }
    article.appendChild(ruleDocs(f.r));
    return article;
  }

  function value(control) {
    return control ? control.value : "";
  }

  function apply() {
    var category = value(controls.category);
    var severity = value(controls.severity);
    var rule = value(controls.rule);
    var status = value(controls.status);
    var path = value(controls.path).trim().toLowerCase();
    var exact = known[path] === true; /* a whole path (a selected file) means that file only */
    var words = value(controls.search).trim().toLowerCase().split(/\s+/).filter(Boolean);
    matching = findings.filter(function (f) {
      if (category && f.k !== category) return false;
      if (severity && f.s !== severity) return false;
      if (rule && f.r !== rule) return false;
      if (status && f.st !== status) return false;
      if (path) {
        var mine = paths[f.p].toLowerCase();
        if (exact ? mine !== path : mine.indexOf(path) < 0) return false;
      }
      for (var k = 0; k < words.length; k++) {
        if (f.q.indexOf(words[k]) < 0) return false;
      }
      return true;
    });
    list.textContent = "";
    shown = 0;
    showMore(PAGE);
  }

  function showMore(howMany) {
    var stop = Math.min(matching.length, shown + howMany);
    var fragment = document.createDocumentFragment();
    for (var k = shown; k < stop; k++) fragment.appendChild(renderFinding(matching[k]));
    list.appendChild(fragment);
    shown = stop;
    var left = matching.length - shown;
    more.hidden = left <= 0;
    more.textContent = "Show " + number(Math.min(PAGE, left)) + " more (" + number(left) + " left)";
    if (!matching.length) {
      counter.textContent = findings.length ? "No finding matches the filters." : "No findings.";
    } else if (shown < matching.length) {
      counter.textContent = "Showing " + number(shown) + " of " + number(matching.length) + " matching findings (" + number(findings.length) + " in all).";
    } else if (matching.length === findings.length) {
      counter.textContent = number(findings.length) + (findings.length === 1 ? " finding." : " findings.");
    } else {
      counter.textContent = number(matching.length) + " of " + number(findings.length) + " findings match.";
    }
  }

  var timer = null;
  function later() {
    clearTimeout(timer);
    timer = setTimeout(apply, 120);
  }

  [controls.category, controls.severity, controls.rule, controls.status].forEach(function (c) {
    if (c) c.addEventListener("change", apply);
  });
  [controls.path, controls.search].forEach(function (c) {
    c.addEventListener("input", later);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    apply();
  });
  form.addEventListener("reset", function () {
    setTimeout(apply, 0);
  });
  more.addEventListener("click", function () {
    showMore(PAGE);
  });

  /* A path in a table or a node in the graph filters the findings to it. */
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-path]") : null;
    if (!target) return;
    controls.path.value = target.getAttribute("data-path");
    apply();
  });

  /* Pointing at (or focusing) a graph node brings out its links and neighbours. */
  var graph = document.querySelector("svg.graph");
  if (graph) {
    var edgesOf = {};
    Array.prototype.forEach.call(graph.querySelectorAll(".edge"), function (edge) {
      ["data-s", "data-t"].forEach(function (end) {
        var n = edge.getAttribute(end);
        (edgesOf[n] = edgesOf[n] || []).push(edge);
      });
    });
    var nodes = graph.querySelectorAll(".node");
    var lit = [];
    var clear = function () {
      graph.classList.remove("focus");
      lit.forEach(function (item) {
        item.classList.remove("hot");
      });
      lit = [];
    };
    var light = function (node) {
      clear();
      var n = node.getAttribute("data-n");
      graph.classList.add("focus");
      node.classList.add("hot");
      lit.push(node);
      (edgesOf[n] || []).forEach(function (edge) {
        edge.classList.add("hot");
        lit.push(edge);
        var other = nodes[Number(edge.getAttribute(edge.getAttribute("data-s") === n ? "data-t" : "data-s"))];
        if (other) {
          other.classList.add("hot");
          lit.push(other);
        }
      });
    };
    Array.prototype.forEach.call(nodes, function (node) {
      node.addEventListener("mouseenter", function () {
        light(node);
      });
      node.addEventListener("focus", function () {
        light(node);
      });
      node.addEventListener("mouseleave", clear);
      node.addEventListener("blur", clear);
    });
  }

  /* A link to a rule's docs opens them. */
  function openRule() {
    var match = /^#rule-([A-Za-z0-9]+)$/.exec(location.hash);
    var target = match && document.getElementById("rule-" + match[1]);
    if (target && target.tagName === "DETAILS") target.open = true;
  }
  window.addEventListener("hashchange", openRule);
  openRule();

  /* Code-point order, as paths sort everywhere else in mldebt. */
  function compare(x, y) {
    return x < y ? -1 : x > y ? 1 : 0;
  }

  /* A cell's sort key: its data-v, else its text. */
  function key(cell) {
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent.trim() : v;
  }

  /* Sortable tables: a button in each heading; aria-sort says the order. */
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var headings = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headings, function (th, column) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var numeric = button.getAttribute("data-type") === "num";
        var current = th.getAttribute("aria-sort");
        var order;
        if (current === "ascending") order = "descending";
        else if (current === "descending") order = "ascending";
        else order = numeric ? "descending" : "ascending";
        Array.prototype.forEach.call(headings, function (other) {
          if (other.hasAttribute("aria-sort")) other.setAttribute("aria-sort", "none");
        });
        th.setAttribute("aria-sort", order);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var sign = order === "ascending" ? 1 : -1;
        rows.sort(function (a, b) {
          var x = key(a.cells[column]);
          var y = key(b.cells[column]);
          var result = numeric ? parseFloat(x) - parseFloat(y) : compare(x, y);
          if (result === 0) return compare(key(a.cells[0]), key(b.cells[0]));
          return sign * result;
        });
        var fragment = document.createDocumentFragment();
        rows.forEach(function (row) {
          fragment.appendChild(row);
        });
        body.appendChild(fragment);
      });
    });
  });

  /* Printing: every matching finding, every details element open (rule docs print once, in
     the Rules section). */
  var reopen = [];
  window.addEventListener("beforeprint", function () {
    showMore(matching.length - shown);
    reopen = [];
    Array.prototype.forEach.call(document.querySelectorAll("details:not(.doc)"), function (d) {
      if (!d.open) {
        d.open = true;
        reopen.push(d);
      }
    });
  });
  window.addEventListener("afterprint", function () {
    reopen.forEach(function (d) {
      d.open = false;
    });
    reopen = [];
  });

  apply();
})();
