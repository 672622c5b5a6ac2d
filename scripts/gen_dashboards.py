#!/usr/bin/env python3
"""Writes the Grafana dashboards of triage_exporter from one description.

    python3 scripts/gen_dashboards.py            # writes dashboards/*.json
    python3 scripts/gen_dashboards.py --check    # exit 1 when they are stale

Two dashboards come out, both in Grafana's JSON model (schemaVersion 39,
Grafana 10 and 11), importable through the UI and loadable by file
provisioning (no __inputs; a `datasource` variable picks the Prometheus):

  dashboards/triage-overview.json  every service: state by layer, status
      codes, failure reasons, firing alerts linked to their runbooks, and
      the exporter's own health;
  dashboards/triage-service.json   one service: every probe kind's panels.

The firing-alert tables link each alert to its runbook section. ALERTS does
not carry the runbook_url annotation, so the query adds it: one label_replace
per alert of alerts/index.json sets `runbook` to "file.md#anchor", two more
split it into `runbook_file` and `runbook_anchor`, and the alertname cell's
link is ${runbook_base:raw}${__data.fields.runbook_file}#${__data.fields.runbook_anchor}.
Regenerate after the catalog changes; tests/dashboards/lint_test.sh fails on
stale output.

The last sentence of every panel description says which data fills it; the
lint requires it and tests/dashboards/check_queries.py reads it to decide
which panels must show data:
  "Shows data for probes of kind http, tcp."  (required for those kinds)
  "Shows data for every probe."                (required for any service)
  "Shows the exporter's own metrics."          (always required)
  "Shows firing alerts of the rule pack."      (required with --expect-alerts)
  "May stay empty: <why>."                     (never required)

Python 3 standard library only.
"""

import argparse
import json
import os
import sys

import generated_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DS = {"type": "prometheus", "uid": "${datasource}"}
LAYERS = ["liveness", "readiness", "dependency", "traffic", "telemetry"]
RUNBOOK_BASE_DEFAULT = "http://localhost:9479/runbooks/"
OVERVIEW_UID = "triage-overview"
SERVICE_UID = "triage-service"

# Sentences that end each description (see the module docstring).
def kinds(*names):
    return "Shows data for probes of kind " + ", ".join(names) + "."


EVERY_PROBE = "Shows data for every probe."
EXPORTER = "Shows the exporter's own metrics."
ALERTS = "Shows firing alerts of the rule pack."


def optional(why):
    return "May stay empty: " + why + "."


# ---------------------------------------------------------------------------
# PromQL helpers


def indent(expr, by="  "):
    return by + expr.replace("\n", "\n" + by)


def label_replaces(expr, calls):
    """expr wrapped in one label_replace per (dst, replacement, src, regex),
    innermost first, written one call per line."""
    lines = ["label_replace(" * len(calls), indent(expr) + ","]
    for i, (dst, repl, src, regex) in enumerate(calls):
        end = ")," if i + 1 < len(calls) else ")"
        lines.append('  "%s", "%s", "%s", "%s"%s' % (dst, repl, src, regex, end))
    return "\n".join(lines)


def with_stage(expr):
    """Adds a `stage` label "1 liveness" .. "5 telemetry" from `layer`, so that
    series sort in triage order."""
    return label_replaces(expr, [("stage", "%d %s" % (i + 1, layer), "layer", layer)
                                 for i, layer in enumerate(LAYERS)])


def with_layer(expr, selector, extra=""):
    """expr joined with the probe's layer (and `extra` info labels).

    max by (...) of the info metric keeps the join one-to-one when two
    exporters (an HA pair) export the same probe."""
    labels = "layer" + (", " + extra if extra else "")
    return ("(%s)\n  * on (service, probe) group_left (%s)\n"
            "  max by (service, probe, %s) (triage_probe_info%s)" % (expr, labels, labels, selector))


def with_runbook(expr, alerts):
    """Adds runbook, runbook_file and runbook_anchor labels to ALERTS series,
    one label_replace per alert of alerts/index.json."""
    calls = [("runbook", "%s#%s" % (a["runbook"]["file"], a["runbook"]["anchor"]), "alertname", a["name"])
             for a in alerts]
    calls.append(("runbook_file", "$1", "runbook", "([^#]+)#.*"))
    calls.append(("runbook_anchor", "$1", "runbook", "[^#]+#(.+)"))
    return label_replaces(expr, calls)


# ---------------------------------------------------------------------------
# Panel builders


def target(expr, legend="", ref="A", instant=False, fmt=None):
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "refId": ref,
    }
    if instant:
        t.update({"instant": True, "range": False, "format": fmt or "table"})
    else:
        t.update({"instant": False, "range": True, "format": fmt or "time_series"})
    t["legendFormat"] = legend or "__auto"
    return t


def targets(*specs, **kw):
    """targets((expr, legend), ...) with refIds A, B, C ..."""
    out = []
    for i, (expr, legend) in enumerate(specs):
        out.append(target(expr, legend, chr(ord("A") + i), **kw))
    return out


def base(ptype, title, description, tgts, unit, w, h):
    return {
        "type": ptype,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": tgts,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "_size": (w, h),
    }


def value_mappings(pairs):
    """pairs: [(value, text, color)] -> one Grafana value mapping."""
    opts = {}
    for i, (value, text, color) in enumerate(pairs):
        opts[str(value)] = {"text": text, "color": color, "index": i}
    return [{"type": "value", "options": opts}]


OK_FAILING = value_mappings([(0, "failing", "red"), (1, "ok", "green")])
YES_NO = value_mappings([(0, "no", "red"), (1, "yes", "green")])
NO_PROBE = [{"type": "special", "options": {
    "match": "null+nan", "result": {"text": "", "color": "transparent", "index": 0}}},
            {"type": "special", "options": {
    "match": "empty", "result": {"text": "", "color": "transparent", "index": 1}}}]
RED_GREEN = {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]}


def timeseries(title, description, tgts, unit, w=12, h=8, stack=False, decimals=None,
               thresholds=None, min_zero=True):
    p = base("timeseries", title, description, tgts, unit, w, h)
    d = p["fieldConfig"]["defaults"]
    d["color"] = {"mode": "palette-classic"}
    d["custom"] = {
        "drawStyle": "line",
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "fillOpacity": 20 if stack else 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
    }
    if min_zero:
        d["custom"]["axisSoftMin"] = 0
    if decimals is not None:
        d["decimals"] = decimals
    if thresholds:
        d["thresholds"] = thresholds
        d["custom"]["thresholdsStyle"] = {"mode": "line"}
    p["options"] = {
        "legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                   "calcs": ["lastNotNull", "max"]},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return p


def state_timeline(title, description, tgts, mappings, unit="none", w=12, h=8,
                   thresholds=None, show_value="auto"):
    p = base("state-timeline", title, description, tgts, unit, w, h)
    d = p["fieldConfig"]["defaults"]
    d["color"] = {"mode": "thresholds"}
    d["mappings"] = mappings
    d["thresholds"] = thresholds or RED_GREEN
    d["custom"] = {"fillOpacity": 75, "lineWidth": 0}
    p["options"] = {
        "mergeValues": True,
        "showValue": show_value,
        "alignValue": "left",
        "rowHeight": 0.85,
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return p


def table(title, description, tgts, unit="none", w=12, h=8, exclude=(), order=(),
          sort_by=None, transformations=None, overrides=None, mappings=None, thresholds=None,
          color_cells=False):
    p = base("table", title, description, tgts, unit, w, h)
    d = p["fieldConfig"]["defaults"]
    d["custom"] = {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False,
                   "filterable": False}
    if mappings:
        d["mappings"] = mappings
    if thresholds:
        d["thresholds"] = thresholds
        d["color"] = {"mode": "thresholds"}
    if color_cells:
        d["custom"]["cellOptions"] = {"type": "color-background", "mode": "basic"}
    p["fieldConfig"]["overrides"] = overrides or []
    p["options"] = {"showHeader": True, "cellHeight": "sm",
                    "footer": {"show": False, "reducer": ["sum"], "fields": "", "countRows": False}}
    if sort_by:
        p["options"]["sortBy"] = [{"displayName": sort_by, "desc": False}]
    tr = list(transformations or [])
    tr.append({"id": "organize", "options": {
        "excludeByName": {name: True for name in exclude},
        "indexByName": {name: i for i, name in enumerate(order)},
        "renameByName": {},
    }})
    p["transformations"] = tr
    return p


def stat(title, description, tgts, unit, w=6, h=6, mappings=None, thresholds=None,
         color_mode="background"):
    p = base("stat", title, description, tgts, unit, w, h)
    d = p["fieldConfig"]["defaults"]
    d["color"] = {"mode": "thresholds"}
    d["thresholds"] = thresholds or RED_GREEN
    if mappings:
        d["mappings"] = mappings
    p["options"] = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": color_mode,
        "graphMode": "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "textMode": "value_and_name",
        "wideLayout": True,
        "showPercentChange": False,
    }
    return p


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_size": (24, 1)}


def layout(items):
    """Assigns ids and gridPos: panels flow left to right and wrap at 24
    columns; a row starts a new line."""
    out, x, y, line_h = [], 0, 0, 0
    for pid, p in enumerate(items, start=1):
        w, h = p.pop("_size")
        if p["type"] == "row" or x + w > 24:
            y += line_h
            x, line_h = 0, 0
        p["id"] = pid
        p["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        x += w
        line_h = max(line_h, h)
        if p["type"] == "row":
            y += h
            x, line_h = 0, 0
        out.append(p)
    return out


# ---------------------------------------------------------------------------
# Variables and the dashboard


def datasource_var():
    return {
        "name": "datasource", "label": "Data source", "type": "datasource",
        "query": "prometheus", "current": {}, "hide": 0, "includeAll": False,
        "multi": False, "options": [], "refresh": 1, "regex": "", "skipUrlSync": False,
    }


def query_var(name, label, query, multi, description):
    return {
        "name": name, "label": label, "type": "query", "description": description,
        "datasource": DS,
        # The plain string form: every Grafana since 7 runs it, and the
        # variable editor turns it into its own form when opened.
        "definition": query,
        "query": query,
        "current": {}, "hide": 0, "includeAll": multi, "multi": multi, "options": [],
        "refresh": 2, "regex": "", "skipUrlSync": False, "sort": 1,
    }


def runbook_base_var(v):
    return {
        "name": "runbook_base", "label": "Runbook base URL", "type": "textbox",
        "description": "Where the runbooks are read: the exporter's /runbooks/ page "
                       "(http://<exporter>:9479/runbooks/) or your copy of runbooks/. "
                       "The alert tables link to <base><file>#<anchor>.",
        "query": v, "current": {"selected": False, "text": v, "value": v},
        "options": [{"selected": True, "text": v, "value": v}], "hide": 0, "skipUrlSync": False,
    }


def link_to(uid, title, tooltip):
    return {
        "title": title, "tooltip": tooltip, "type": "link", "icon": "dashboard",
        "url": "/d/%s/%s" % (uid, uid), "includeVars": True, "keepTime": True,
        "asDropdown": False, "targetBlank": False, "tags": [],
    }


def dashboard(uid, title, description, variables, panels, links):
    return {
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard",
        }]},
        "description": description,
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": links,
        "liveNow": False,
        "panels": layout(panels),
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["triage_exporter"],
        "templating": {"list": variables},
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


def alerts_table(title, description, selector_expr, alerts, w, h):
    expr = with_runbook(selector_expr, alerts)
    link = {
        "title": "Runbook section",
        "url": "${runbook_base:raw}${__data.fields.runbook_file}#${__data.fields.runbook_anchor}",
        "targetBlank": True,
    }
    overrides = [
        {"matcher": {"id": "byName", "options": "alertname"},
         "properties": [{"id": "links", "value": [link]}, {"id": "custom.width", "value": 300}]},
        {"matcher": {"id": "byName", "options": "runbook"},
         "properties": [{"id": "links", "value": [link]}]},
        {"matcher": {"id": "byName", "options": "severity"},
         "properties": [
             {"id": "mappings", "value": value_mappings([
                 ("critical", "critical", "red"), ("warning", "warning", "orange"),
                 ("info", "info", "blue")])},
             {"id": "custom.cellOptions", "value": {"type": "color-text"}}]},
        {"matcher": {"id": "byName", "options": "runbook_file"},
         "properties": [{"id": "custom.hidden", "value": True}]},
        {"matcher": {"id": "byName", "options": "runbook_anchor"},
         "properties": [{"id": "custom.hidden", "value": True}]},
    ]
    return table(
        title, description, [target(expr, "", "A", instant=True)], unit="string", w=w, h=h,
        exclude=["Time", "Value", "__name__", "alertstate"],
        order=["alertname", "severity", "layer", "service", "probe", "runbook"],
        sort_by="severity", overrides=overrides)


# ---------------------------------------------------------------------------
# triage-overview


def overview(alerts, runbook_base):
    S = '{service=~"$service"}'
    state = with_layer("triage_probe_success" + S, S)
    service_link = {
        "title": "Open this service",
        "url": "/d/%s/%s?var-service=${__value.raw}&var-datasource=${datasource}"
               "&var-runbook_base=${runbook_base}&${__url_time_range}" % (SERVICE_UID, SERVICE_UID),
    }
    panels = [
        row("Where it breaks"),
        table(
            "State by layer, now",
            "The worst probe of each service and triage layer at the last evaluation: ok when "
            "every probe of that layer succeeded, failing when one did not. Walk a failing "
            "service from the left: the first failing layer is where to start (a failing "
            "liveness layer explains everything to its right, and the rule pack inhibits the "
            "alerts of the higher layers). Empty cells: the service has no probe of that layer. "
            "Click a service to open its dashboard. Query: min by (service, layer) of "
            "triage_probe_success joined with triage_probe_info. " + EVERY_PROBE,
            [target("min by (service, layer) (\n" + indent(state) + "\n)", "", "A", instant=True)],
            unit="none", w=10, h=9,
            transformations=[{"id": "groupingToMatrix", "options": {
                "columnField": "layer", "rowField": "service", "valueField": "Value",
                "emptyValue": "empty"}}],
            order=["service\\layer"] + LAYERS,
            mappings=OK_FAILING + NO_PROBE, thresholds=RED_GREEN, color_cells=True,
            overrides=[{"matcher": {"id": "byName", "options": "service\\layer"},
                        "properties": [{"id": "displayName", "value": "service"},
                                       {"id": "links", "value": [service_link]},
                                       {"id": "custom.cellOptions", "value": {"type": "auto"}}]}]),
        state_timeline(
            "State by layer over time",
            "One lane per service and triage layer (1 liveness, 2 readiness, 3 dependency, "
            "4 traffic, 5 telemetry): red while any probe of that layer fails. The first red "
            "lane of a service, in that order, is the layer to fix first. " + EVERY_PROBE,
            [target("min by (lane) (\n  label_join(\n" + indent(with_stage(state), "    ") +
                    ',\n    "lane", " / ", "service", "stage")\n)', "{{lane}}")],
            OK_FAILING, w=14, h=9),

        row("Alerts"),
        alerts_table(
            "Firing alerts",
            "Alerts of the rule pack now firing for the selected services, plus the exporter's "
            "own alerts. The alertname and runbook cells open the runbook section that "
            "diagnoses the alert (set the runbook_base variable to where your operators read "
            "the runbooks). An alert of a higher layer stays firing here while Alertmanager "
            "inhibits its notifications. " + ALERTS,
            'ALERTS{alertstate="firing", alertname=~"Triage.+", service=~"$service"}\n'
            '  or ALERTS{alertstate="firing", alertname=~"Triage.+", layer="exporter", service=""}',
            alerts, w=24, h=8),

        row("Traffic"),
        timeseries(
            "HTTP responses by status code",
            "Responses the probes received per second, by exact status code "
            "(triage_http_responses_total): 401 bearer refused, 403 wrong scope, 410 removed "
            "API, 429 rate limited, 500 backend failure, 503 draining or performance mode. "
            + kinds("http", "readiness", "cluster", "scrape"),
            [target('sum by (service, code) (rate(triage_http_responses_total%s[$__rate_interval]))' % S,
                    "{{service}} {{code}}")],
            "reqps", w=12, h=8),
        timeseries(
            "Error responses by JSON error code",
            "Error responses (status 400 and above) per second by status and the JSON error "
            "code the probe read at error_code_pointer (triage_http_error_responses_total), "
            "for example 503 shutting_down against 503 performance_mode. "
            + optional("only after a probe received an error response"),
            [target('sum by (service, code, error_code) '
                    '(rate(triage_http_error_responses_total%s[$__rate_interval]))' % S,
                    "{{service}} {{code}} {{error_code}}")],
            "reqps", w=12, h=8),
        timeseries(
            "Probe failures by reason",
            "Failed probe runs per second by bounded reason (triage_probe_failures_total): "
            "timeout, connection_refused, dns, tls, http_status, unauthorized, invalid_body, "
            "check_failed, empty, credentials, ... The reason names the runbook to open. "
            + optional("only after a probe failed"),
            [target('sum by (service, reason) (rate(triage_probe_failures_total%s[$__rate_interval]))' % S,
                    "{{service}} {{reason}}")],
            "ops", w=12, h=8, stack=True),
        table(
            "Failing probes, now",
            "Every probe whose last run failed (triage_probe_success == 0), with its kind and "
            "layer. Open the service dashboard or run the probe once with "
            "/probe?service=S&probe=P&debug=true on the exporter to see why. "
            + optional("when every probe succeeds"),
            [target(with_layer("triage_probe_success%s == 0" % S, S, "kind"), "", "A", instant=True)],
            unit="none", w=12, h=8,
            exclude=["Time", "Value", "__name__"],
            order=["service", "probe", "kind", "layer"], sort_by="service",
            overrides=[{"matcher": {"id": "byName", "options": "service"},
                        "properties": [{"id": "links", "value": [service_link]}]}]),

        row("Exporter"),
        stat(
            "Configuration reload",
            "Whether each exporter's last configuration load succeeded "
            "(triage_exporter_config_last_reload_successful). A failed reload keeps the previous "
            "configuration running; the error, with file, line and column, is in the exporter's "
            "log (alert TriageExporterConfigReloadFailed). " + EXPORTER,
            [target("min by (instance) (triage_exporter_config_last_reload_successful)", "{{instance}}")],
            "none", w=6, h=6, mappings=value_mappings([(0, "failed", "red"), (1, "ok", "green")])),
        timeseries(
            "Probes configured and in flight",
            "Probes in the running configuration (triage_exporter_probes_configured) and runs "
            "going now (triage_exporter_probes_in_flight, capped by global.max_in_flight). "
            + EXPORTER,
            targets(("sum by (instance) (triage_exporter_probes_configured)", "{{instance}} configured"),
                    ("sum by (instance) (triage_exporter_probes_in_flight)", "{{instance}} in flight")),
            "short", w=6, h=6),
        timeseries(
            "Schedule lag, p99",
            "99th percentile of the delay between the time a run was due and the time it "
            "started (triage_exporter_schedule_lag_seconds). It grows when max_in_flight is "
            "too small for the probes and their timeouts. " + EXPORTER,
            [target("histogram_quantile(0.99, sum by (instance, le) "
                    "(rate(triage_exporter_schedule_lag_seconds_bucket[$__rate_interval])))",
                    "{{instance}} p99")],
            "s", w=6, h=6),
        timeseries(
            "Missed runs",
            "Scheduled runs that did not start, per second, by reason "
            "(triage_exporter_missed_runs_total): still_running (the previous run had not "
            "finished) or behind_schedule (the scheduler fell a whole interval behind). "
            "Alert TriageExporterProbesNotScheduled. " + EXPORTER,
            [target("sum by (instance, reason) (rate(triage_exporter_missed_runs_total[$__rate_interval]))",
                    "{{instance}} {{reason}}")],
            "ops", w=6, h=6),
    ]
    variables = [
        datasource_var(),
        query_var("service", "Service", "label_values(triage_probe_info, service)", True,
                  "Services of the exporter's configuration (label service)."),
        runbook_base_var(runbook_base),
    ]
    return dashboard(
        OVERVIEW_UID, "Triage exporter / Overview",
        "Every service probed by triage_exporter: which triage layer fails, status codes, "
        "failure reasons, firing alerts with their runbooks, and the exporter's own health.",
        variables, panels,
        [link_to(SERVICE_UID, "Triage exporter / Service",
                 "One service: every probe kind's panels")])


# ---------------------------------------------------------------------------
# triage-service


def service(alerts, runbook_base):
    S = '{service="$service", probe=~"$probe"}'

    def sel(*matchers):
        return '{service="$service", probe=~"$probe", ' + ", ".join(matchers) + "}"

    def of_kind(expr, kind):
        return '%s\n  and on (service, probe) triage_probe_info{kind="%s"}' % (expr, kind)

    state = with_layer("triage_probe_success" + S, S)
    panels = [
        row("State"),
        state_timeline(
            "State by layer",
            "The service's probes grouped by triage layer, in triage order: red while any "
            "probe of the layer fails. Start with the first red lane from the top. "
            + EVERY_PROBE,
            [target("min by (stage) (\n" + indent(with_stage(state)) + "\n)", "{{stage}}")],
            OK_FAILING, w=12, h=8),
        table(
            "Probes, now",
            "Every probe of the service with its kind, layer and the outcome of its last run "
            "(triage_probe_success). Run one on demand with "
            "/probe?service=<service>&probe=<probe>&debug=true on the exporter. " + EVERY_PROBE,
            [target("max by (stage, probe, kind) (\n" +
                    indent(with_stage(with_layer("triage_probe_success" + S, S, "kind"))) + "\n)",
                    "", "A", instant=True)],
            unit="none", w=12, h=8, exclude=["Time"], order=["stage", "probe", "kind", "Value"],
            sort_by="layer",
            overrides=[{"matcher": {"id": "byName", "options": "stage"},
                        "properties": [{"id": "displayName", "value": "layer"}]},
                       {"matcher": {"id": "byName", "options": "Value"},
                        "properties": [{"id": "displayName", "value": "state"},
                                       {"id": "mappings", "value": OK_FAILING},
                                       {"id": "color", "value": {"mode": "thresholds"}},
                                       {"id": "thresholds", "value": RED_GREEN},
                                       {"id": "custom.cellOptions",
                                        "value": {"type": "color-background", "mode": "basic"}}]}]),
        state_timeline(
            "Probe state",
            "The outcome of each probe's last run over time, one lane per probe, in triage "
            "order of their layers. " + EVERY_PROBE,
            [target("max by (lane) (\n  label_join(\n" + indent(with_stage(state), "    ") +
                    ',\n    "lane", " / ", "stage", "probe")\n)', "{{lane}}")],
            OK_FAILING, w=12, h=8),
        alerts_table(
            "Firing alerts",
            "Alerts of the rule pack now firing for this service. The alertname and runbook "
            "cells open the runbook section (set the runbook_base variable to where your "
            "operators read the runbooks). " + ALERTS,
            'ALERTS{alertstate="firing", alertname=~"Triage.+", service="$service"}',
            alerts, w=12, h=8),
        timeseries(
            "Probe runs by result",
            "Finished runs per second by result (triage_probes_total). " + EVERY_PROBE,
            [target('sum by (probe, result) (rate(triage_probes_total%s[$__rate_interval]))' % S,
                    "{{probe}} {{result}}")],
            "ops", w=8, h=7, stack=True),
        timeseries(
            "Probe failures by reason",
            "Failed runs per second by reason (triage_probe_failures_total). The reason "
            "points at the runbook: connection_refused and timeout at liveness or the "
            "dependency, unauthorized at credentials, check_failed at readiness keys, the "
            "cluster, expected metrics or claims. " + optional("only after a probe failed"),
            [target('sum by (probe, reason) (rate(triage_probe_failures_total%s[$__rate_interval]))' % S,
                    "{{probe}} {{reason}}")],
            "ops", w=8, h=7, stack=True),
        timeseries(
            "Probe duration",
            "Median, 90th and 99th percentile of whole probe runs "
            "(triage_probe_duration_seconds). Runs close to the probe's timeout fail with "
            "reason timeout. " + EVERY_PROBE,
            targets(*[("histogram_quantile(%s, sum by (probe, le) "
                       "(rate(triage_probe_duration_seconds_bucket%s[$__rate_interval])))" % (q, S),
                       "{{probe}} p%s" % n) for q, n in (("0.5", "50"), ("0.9", "90"), ("0.99", "99"))]),
            "s", w=8, h=7),

        row("HTTP"),
        timeseries(
            "Responses by status code",
            "Responses per second by exact status code (triage_http_responses_total). 401: "
            "token missing, expired or revoked; 403: wrong tenant or scope; 410: a removed API "
            "version; 429: rate limited (see Retry-After); 500: backend failure; 503: "
            "draining, shutting down or performance mode. "
            + kinds("http", "readiness", "cluster", "scrape"),
            [target('sum by (probe, code) (rate(triage_http_responses_total%s[$__rate_interval]))' % S,
                    "{{probe}} {{code}}")],
            "reqps", w=12, h=8),
        timeseries(
            "Error responses by JSON error code",
            "Error responses per second by status and the JSON error code at the probe's "
            "error_code_pointer (triage_http_error_responses_total): none when the body had "
            "no value there, unparsable when it was not JSON, other past max_error_codes. "
            + optional("only after an error response"),
            [target('sum by (probe, code, error_code) '
                    '(rate(triage_http_error_responses_total%s[$__rate_interval]))' % S,
                    "{{probe}} {{code}} {{error_code}}")],
            "reqps", w=12, h=8),
        timeseries(
            "Error ratios, as the alerts see them",
            "Share of 5xx, 500, 401 and 429 answers over five minutes, from the rule pack's "
            "recording rules (triage:http_5xx:ratio_rate5m and friends); the burn-rate and "
            "ratio alerts compare these with their thresholds. "
            + optional("needs the rule pack loaded in Prometheus and a probe of layer traffic"),
            targets(*[('triage:http_%s:ratio_rate5m%s' % (c, S), "{{probe}} %s" % c)
                      for c in ("5xx", "500", "401", "429")]),
            "percentunit", w=8, h=7),
        state_timeline(
            "Last status code",
            "Status code of each probe's last response (triage_http_status_code); 0 when no "
            "response arrived (refused, timeout, TLS). " + kinds("http"),
            [target('max by (probe) (triage_http_status_code%s)' % S, "{{probe}}")],
            [{"type": "value", "options": {"0": {"text": "no answer", "color": "purple", "index": 0}}},
             {"type": "range", "options": {"from": 100, "to": 399, "result": {"color": "green", "index": 1}}},
             {"type": "range", "options": {"from": 400, "to": 499, "result": {"color": "orange", "index": 2}}},
             {"type": "range", "options": {"from": 500, "to": 599, "result": {"color": "red", "index": 3}}}],
            w=8, h=7, show_value="always",
            thresholds={"mode": "absolute", "steps": [{"color": "text", "value": None}]}),
        timeseries(
            "Retry-After",
            "Retry-After of the last response when it was a 429 or 503, 0 otherwise "
            "(triage_http_retry_after_seconds). Clients that retry sooner than this extend "
            "the rate limiting. " + kinds("http"),
            [target('max by (probe) (triage_http_retry_after_seconds%s)' % S, "{{probe}}")],
            "s", w=8, h=7),
        state_timeline(
            "HTTP version",
            "HTTP version of each probe's last response (triage_http_version). A mesh proxy "
            "refuses HTTP/1.0 upstreams (alert TriageHttp10Upstream). "
            + optional("no response arrived (refused, timeout, TLS failure)"),
            [target('max by (probe) (triage_http_version%s)' % S, "{{probe}}")],
            value_mappings([("1", "HTTP/1.0", "orange"), ("1.1", "HTTP/1.1", "green"),
                            ("2", "HTTP/2", "green"), ("3", "HTTP/3", "green")]),
            w=8, h=7, show_value="always",
            thresholds={"mode": "absolute", "steps": [{"color": "text", "value": None}]}),
        timeseries(
            "Clock skew",
            "The target's Date header minus the exporter's clock at the middle of the exchange "
            "(triage_clock_skew_seconds, 1 s resolution). Tokens and signatures fail when it "
            "grows past their tolerance (alert TriageClockSkew). "
            + optional("the target sends no Date header"),
            [target('max by (probe) (triage_clock_skew_seconds%s)' % S, "{{probe}}")],
            "s", w=8, h=7, min_zero=False),
        timeseries(
            "Certificate expiry",
            "Days until the earliest certificate the target presented expires "
            "(triage_tls_cert_expiry_timestamp_seconds minus now), for https probes and tcp "
            "probes with tls: true (alert TriageCertificateExpiringSoon). "
            + optional("no probe of the service uses TLS"),
            [target('min by (probe) ((triage_tls_cert_expiry_timestamp_seconds%s - time()) / 86400)' % S,
                    "{{probe}}")],
            "d", w=8, h=7, decimals=1, min_zero=False,
            thresholds={"mode": "absolute", "steps": [{"color": "red", "value": None},
                                                      {"color": "orange", "value": 7},
                                                      {"color": "green", "value": 21}]}),
        timeseries(
            "Phase timings",
            "Time each phase of the last run took (triage_probe_phase_seconds): dns, connect, "
            "tls, ttfb (request sent to first byte) and transfer. A slow connect points at the "
            "network, a slow ttfb at the target itself. " + kinds("http", "tcp"),
            [target('max by (probe, phase) (triage_probe_phase_seconds%s)' % S,
                    "{{probe}} {{phase}}")],
            "s", w=24, h=7),

        row("Readiness"),
        state_timeline(
            "Readiness checks",
            "Each key of the readiness answer (triage_readiness_check_ok{check}): red while "
            "it fails. The failing key names the subsystem to look at (alert "
            "TriageReadinessCheckFailing). " + kinds("readiness"),
            [target('max by (probe, check) (triage_readiness_check_ok%s)' % S, "{{probe}} {{check}}")],
            value_mappings([(0, "fail", "red"), (1, "pass", "green")]), w=24, h=8),

        row("Cluster"),
        state_timeline(
            "Cluster state",
            "From the node's view of its cluster: is a leader known "
            "(triage_cluster_leader_known), is this node the leader (triage_cluster_is_leader) "
            "and is replicated state ready (triage_cluster_replication_ready). No leader known "
            "pages (TriageClusterLeaderUnknown). " + kinds("cluster"),
            targets(('max by (probe) (triage_cluster_leader_known%s)' % S, "{{probe}} leader known"),
                    ('max by (probe) (triage_cluster_is_leader%s)' % S, "{{probe}} is leader"),
                    ('max by (probe) (triage_cluster_replication_ready%s)' % S,
                     "{{probe}} replication ready")),
            YES_NO, w=12, h=8),
        timeseries(
            "Leader changes",
            "Changes of the leader's identity seen between runs "
            "(increase of triage_cluster_leader_changes_total). Several within minutes is an "
            "election storm (alert TriageClusterLeaderFlapping). " + kinds("cluster"),
            [target('sum by (probe) (increase(triage_cluster_leader_changes_total%s[$__rate_interval]))' % S,
                    "{{probe}}")],
            "short", w=6, h=8),
        timeseries(
            "Follower lag",
            "Entries each follower is behind the leader, as the node reports it "
            "(triage_cluster_follower_lag_entries); alert TriageClusterFollowerLagging past "
            "1000. " + optional("the probe has no followers_pointer"),
            [target('max by (probe, follower) (triage_cluster_follower_lag_entries%s)' % S,
                    "{{probe}} {{follower}}")],
            "short", w=6, h=8),

        row("Scrape"),
        state_timeline(
            "Metrics endpoint",
            "Whether the target's metrics endpoint answered in Prometheus text format "
            "(triage_scrape_up) and, when the probe names a prometheus_url, whether that "
            "Prometheus sees the target up (triage_scrape_prometheus_target_up). "
            + kinds("scrape"),
            targets(('max by (probe) (triage_scrape_up%s)' % S, "{{probe}} scrape up"),
                    ('max by (probe) (triage_scrape_prometheus_target_up%s)' % S,
                     "{{probe}} Prometheus target up")),
            YES_NO, w=8, h=7),
        state_timeline(
            "Expected metrics present",
            "Each expect_metrics entry of the probe (triage_scrape_expected_metric_present): "
            "red when the last fetch did not have it, a broken hop of the metrics pipeline or "
            "a service with no traffic yet (alert TriageExpectedMetricMissing). "
            + optional("the probe lists no expect_metrics, or the last fetch did not parse"),
            [target('max by (probe, metric) (triage_scrape_expected_metric_present%s)' % S,
                    "{{probe}} {{metric}}")],
            YES_NO, w=8, h=7),
        timeseries(
            "Samples per fetch",
            "Samples in the last fetch that parsed (triage_scrape_samples); 0 means the "
            "target answered an empty page (reason empty). "
            + optional("the last fetch did not parse"),
            [target('max by (probe) (triage_scrape_samples%s)' % S, "{{probe}}")],
            "short", w=8, h=7),
        timeseries(
            "Target restarts",
            "Restarts of the target seen as forward moves of its process_start_time_seconds "
            "(increase of triage_target_restarts_total); 5xx at the edge often follow them "
            "(alerts TriageTargetRestartingFrequently, TriageHttp5xxDuringUpstreamRestarts). "
            + kinds("scrape"),
            [target('sum by (probe) (increase(triage_target_restarts_total%s[$__rate_interval]))' % S,
                    "{{probe}}")],
            "short", w=12, h=7),
        timeseries(
            "Target file descriptors",
            "The target's process_open_fds / process_max_fds (triage_target_fd_utilization); "
            "near 1 it refuses connections (alert TriageTargetFdUtilizationHigh). "
            + optional("the target exports no process_open_fds"),
            [target('max by (probe) (triage_target_fd_utilization%s)' % S, "{{probe}}")],
            "percentunit", w=12, h=7,
            thresholds={"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                      {"color": "red", "value": 0.8}]}),

        row("Storage"),
        table(
            "Claims, now",
            "Phase of each PersistentVolumeClaim the probe watches (triage_pvc_phase == 1): "
            "Bound is healthy, Pending waits for a volume, Lost lost its volume. "
            + kinds("kubernetes_pvc"),
            [target('max by (namespace, persistentvolumeclaim, phase) (triage_pvc_phase%s == 1)' % S,
                    "", "A", instant=True)],
            unit="string", w=8, h=7, exclude=["Time", "Value"],
            order=["namespace", "persistentvolumeclaim", "phase"], sort_by="persistentvolumeclaim",
            overrides=[{"matcher": {"id": "byName", "options": "phase"},
                        "properties": [
                            {"id": "mappings", "value": value_mappings([
                                ("Bound", "Bound", "green"), ("Pending", "Pending", "orange"),
                                ("Lost", "Lost", "red")])},
                            {"id": "custom.cellOptions", "value": {"type": "color-background",
                                                                   "mode": "basic"}}]}]),
        state_timeline(
            "Claim phase",
            "Phase of each claim over time (triage_pvc_phase): Bound, Pending or Lost "
            "(alerts TriagePvcPending, TriagePvcLost). " + kinds("kubernetes_pvc"),
            [target('max by (persistentvolumeclaim) (\n'
                    '  (triage_pvc_phase%s == 1) * 0\n'
                    '  or (triage_pvc_phase%s == 1)\n'
                    '  or (triage_pvc_phase%s == 1) * 2\n)' % (
                        sel('phase="Bound"'), sel('phase="Pending"'), sel('phase="Lost"')),
                    "{{persistentvolumeclaim}}")],
            value_mappings([(0, "Bound", "green"), (1, "Pending", "orange"), (2, "Lost", "red")]),
            w=16, h=7,
            thresholds={"mode": "absolute", "steps": [{"color": "text", "value": None}]}),
        timeseries(
            "Pending for",
            "How long each claim has been Pending (triage_pvc_pending_seconds); the probe "
            "fails past its pending_grace. " + optional("no claim is Pending"),
            [target('max by (persistentvolumeclaim) (triage_pvc_pending_seconds%s)' % S,
                    "{{persistentvolumeclaim}}")],
            "s", w=8, h=7),
        table(
            "Latest event of Pending claims",
            "Reason of the latest event of each Pending claim (triage_pvc_last_event_info): "
            "ProvisioningFailed, ExternalProvisioning, WaitForFirstConsumer, ... "
            + optional("no claim is Pending"),
            [target('max by (namespace, persistentvolumeclaim, reason) (triage_pvc_last_event_info%s)' % S,
                    "", "A", instant=True)],
            unit="string", w=8, h=7, exclude=["Time", "Value"],
            order=["namespace", "persistentvolumeclaim", "reason"], sort_by="persistentvolumeclaim"),
        stat(
            "Default StorageClass",
            "Whether the cluster has a StorageClass marked default "
            "(triage_storageclass_default_present). Without one, a chart that leaves "
            "storageClassName empty leaves its claims Pending (alert "
            "TriageNoDefaultStorageClass). " + kinds("kubernetes_pvc"),
            [target('max by (probe) (triage_storageclass_default_present%s)' % S, "{{probe}}")],
            "none", w=8, h=7, mappings=value_mappings([(0, "missing", "red"), (1, "present", "green")])),

        row("TCP"),
        state_timeline(
            "Connection",
            "Whether the last TCP connect (and TLS handshake with tls: true) to each "
            "dependency succeeded (triage_probe_success of tcp probes); refused or timed out "
            "dependencies page (alert TriageDependencyDown). " + kinds("tcp"),
            [target('max by (probe) (\n  ' + of_kind("triage_probe_success" + S, "tcp") + "\n)",
                    "{{probe}}")],
            OK_FAILING, w=12, h=7),
        timeseries(
            "Connect time",
            "Time the last TCP connect took (triage_probe_phase_seconds{phase=\"connect\"}); 0 "
            "when it was refused. " + kinds("tcp"),
            [target('max by (probe) (\n  ' + of_kind("triage_probe_phase_seconds" + sel('phase="connect"'),
                                                     "tcp") + "\n)", "{{probe}}")],
            "s", w=12, h=7),
    ]
    variables = [
        datasource_var(),
        query_var("service", "Service", "label_values(triage_probe_info, service)", False,
                  "The service to show (label service)."),
        query_var("probe", "Probe", 'label_values(triage_probe_info{service="$service"}, probe)', True,
                  "Probes of the service to show (label probe)."),
        runbook_base_var(runbook_base),
    ]
    return dashboard(
        SERVICE_UID, "Triage exporter / Service",
        "One service probed by triage_exporter: its layers in triage order, firing alerts with "
        "runbooks, and the panels of every probe kind (http, readiness, cluster, scrape, "
        "kubernetes_pvc, tcp).",
        variables, panels,
        [link_to(OVERVIEW_UID, "Triage exporter / Overview", "Every service at a glance")])


# ---------------------------------------------------------------------------


def render(d):
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


def build(index_path, runbook_base=RUNBOOK_BASE_DEFAULT):
    with open(index_path, encoding="utf-8") as f:
        alerts = json.load(f)["alerts"]
    return {
        OVERVIEW_UID + ".json": render(overview(alerts, runbook_base)),
        SERVICE_UID + ".json": render(service(alerts, runbook_base)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=os.path.join(ROOT, "alerts", "index.json"),
                    help="alerts/index.json of the rule pack (default: the repository's)")
    ap.add_argument("--out", default=os.path.join(ROOT, "dashboards"),
                    help="directory to write to, or to compare with under --check")
    ap.add_argument("--runbook-base", default=RUNBOOK_BASE_DEFAULT,
                    help="default of the runbook_base variable (default %(default)s); "
                         "for a site's own copy, written with --out elsewhere")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 when a file in --out differs from the output")
    args = ap.parse_args()

    if not args.runbook_base.endswith("/"):
        ap.error("--runbook-base must end with /")
    files = build(args.index, args.runbook_base)
    return generated_files.write_or_check(
        {os.path.join(args.out, name): text for name, text in files.items()}, args.check, "dashboards",
        "python3 scripts/gen_dashboards.py   (after changing the generator or alerts/index.json)")

if __name__ == "__main__":
    sys.exit(main())
