#!/usr/bin/env python3
"""Breaks a copy of the dashboards on purpose, one rule at a time.

    break_dashboards.py --list             # "<mutation> <rule the lint must report>" lines
    break_dashboards.py MUTATION DIR       # applies MUTATION to the dashboards in DIR

lint_test.sh copies dashboards/ into a temporary directory, applies each
mutation to a fresh copy and requires lint_dashboards.py to fail naming the
rule. Never point it at the repository's dashboards/. Stdlib only.
"""

import json
import os
import sys

OVERVIEW = "triage-overview.json"
SERVICE = "triage-service.json"


def data_panels(d):
    return [p for p in d["panels"] if p.get("type") != "row"]


def first_rate_panel(d):
    for p in data_panels(d):
        if "[$__rate_interval]" in p["targets"][0]["expr"]:
            return p
    raise SystemExit("no panel with $__rate_interval")


def alert_panel(d):
    for p in data_panels(d):
        if "ALERTS" in p["targets"][0]["expr"]:
            return p
    raise SystemExit("no alert table")


def no_datasource_var(dash):
    d = dash[OVERVIEW]
    d["templating"]["list"] = [v for v in d["templating"]["list"] if v["name"] != "datasource"]


def fixed_panel_datasource(dash):
    data_panels(dash[SERVICE])[0]["datasource"] = {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}


def fixed_target_datasource(dash):
    data_panels(dash[OVERVIEW])[1]["targets"][0]["datasource"] = {"type": "prometheus",
                                                                   "uid": "prometheus"}


def no_description(dash):
    data_panels(dash[SERVICE])[3]["description"] = ""


def no_unit(dash):
    del data_panels(dash[OVERVIEW])[2]["fieldConfig"]["defaults"]["unit"]


def bad_unit(dash):
    data_panels(dash[SERVICE])[4]["fieldConfig"]["defaults"]["unit"] = "seconds"


def fixed_rate_range(dash):
    t = first_rate_panel(dash[SERVICE])["targets"][0]
    t["expr"] = t["expr"].replace("[$__rate_interval]", "[5m]", 1)


def bad_promql(dash):
    t = data_panels(dash[OVERVIEW])[-1]["targets"][0]
    t["expr"] = t["expr"] + " by"


def unknown_metric(dash):
    for p in data_panels(dash[SERVICE]):
        t = p["targets"][0]
        if "triage_http_responses_total" in t["expr"]:
            t["expr"] = t["expr"].replace("triage_http_responses_total", "triage_http_response_total")
            return
    raise SystemExit("no triage_http_responses_total query")


def duplicate_id(dash):
    ps = data_panels(dash[SERVICE])
    ps[5]["id"] = ps[2]["id"]


def overlapping_panels(dash):
    ps = data_panels(dash[OVERVIEW])
    ps[1]["gridPos"] = dict(ps[0]["gridPos"])


def no_gridpos(dash):
    del data_panels(dash[SERVICE])[6]["gridPos"]


def has_inputs(dash):
    dash[SERVICE]["__inputs"] = [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                                  "pluginId": "prometheus", "pluginName": "Prometheus"}]


def wrong_uid(dash):
    dash[OVERVIEW]["uid"] = "a1b2c3d4"


def editable(dash):
    dash[SERVICE]["editable"] = True


def stale_runbook_missing(dash):
    t = alert_panel(dash[OVERVIEW])["targets"][0]
    lines = [l for l in t["expr"].split("\n") if '"alertname", "TriagePvcLost"' not in l]
    t["expr"] = "\n".join(lines).replace("label_replace(", "", 1)


def stale_runbook_anchor(dash):
    t = alert_panel(dash[SERVICE])["targets"][0]
    t["expr"] = t["expr"].replace("cluster.md#triageclusterleaderunknown", "cluster.md#leader-unknown")


def no_runbook_link(dash):
    p = alert_panel(dash[OVERVIEW])
    for o in p["fieldConfig"]["overrides"]:
        o["properties"] = [pr for pr in o["properties"] if pr["id"] != "links"]


def refresh_on_load(dash):
    for v in dash[OVERVIEW]["templating"]["list"]:
        if v["name"] == "service":
            v["refresh"] = 1


def service_var_multi(dash):
    for v in dash[SERVICE]["templating"]["list"]:
        if v["name"] == "service":
            v["multi"] = True


def undefined_variable(dash):
    t = data_panels(dash[SERVICE])[7]["targets"][0]
    t["expr"] = t["expr"].replace('service="$service"', 'service="$service", cluster="$cluster"', 1)


def no_data_tag(dash):
    p = data_panels(dash[SERVICE])[8]
    p["description"] = p["description"].rsplit(". ", 1)[0] + "."


def no_link(dash):
    dash[OVERVIEW]["links"] = []


MUTATIONS = [
    ("no-datasource-var", no_datasource_var, "template-datasource-rule"),
    ("fixed-panel-datasource", fixed_panel_datasource, "panel-datasource-rule"),
    ("fixed-target-datasource", fixed_target_datasource, "panel-datasource-rule"),
    ("no-description", no_description, "panel-title-description-rule"),
    ("no-unit", no_unit, "panel-units-rule"),
    ("bad-unit", bad_unit, "panel-units-rule"),
    ("fixed-rate-range", fixed_rate_range, "target-rate-interval-rule"),
    ("bad-promql", bad_promql, "target-promql-rule"),
    ("unknown-metric", unknown_metric, "target-metric-contract"),
    ("duplicate-id", duplicate_id, "panel-id"),
    ("overlapping-panels", overlapping_panels, "panel-gridpos"),
    ("no-gridpos", no_gridpos, "panel-gridpos"),
    ("has-inputs", has_inputs, "dashboard-portable"),
    ("wrong-uid", wrong_uid, "dashboard-uid"),
    ("editable", editable, "uneditable-dashboard-rule"),
    ("stale-runbook-missing", stale_runbook_missing, "runbook-links"),
    ("stale-runbook-anchor", stale_runbook_anchor, "runbook-links"),
    ("no-runbook-link", no_runbook_link, "runbook-links"),
    ("refresh-on-load", refresh_on_load, "template-on-time-change-reload"),
    ("service-var-multi", service_var_multi, "template-service"),
    ("undefined-variable", undefined_variable, "template-undefined"),
    ("no-data-tag", no_data_tag, "panel-data-tag"),
    ("no-link", no_link, "dashboard-links"),
]


def main():
    if sys.argv[1:] == ["--list"]:
        for name, _, rule in MUTATIONS:
            print(name, rule)
        return 0
    if len(sys.argv) != 3:
        print(__doc__.strip())
        return 2
    name, ddir = sys.argv[1], sys.argv[2]
    fn = dict((n, f) for n, f, _ in MUTATIONS).get(name)
    if fn is None:
        print("unknown mutation %s" % name)
        return 2
    dash = {}
    for f in (OVERVIEW, SERVICE):
        with open(os.path.join(ddir, f), encoding="utf-8") as fh:
            dash[f] = json.load(fh)
    fn(dash)
    for f, d in dash.items():
        with open(os.path.join(ddir, f), "w", encoding="utf-8") as fh:
            json.dump(d, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
