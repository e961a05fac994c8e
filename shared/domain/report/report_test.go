package report_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/report"
)

func TestRowsLinesAndVerdicts(t *testing.T) {
	rec := &message.Record{Rank: "new", Kind: message.Step, Plan: "new", PlanVersion: 2, Step: "care", Template: "step/new-care", Variant: "step/new-care"}
	row := report.RowOf(rec)
	back, err := report.ParseKey(row.Key())
	if err != nil || back != row {
		t.Fatalf("%+v %v", back, err)
	}
	if m := report.Month(time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)); m != "2026-12" {
		t.Errorf("month %s: 01:00 on 1 December in Japan is December", m)
	}
	r, err := report.Build("2026-11", map[string]report.Counters{
		row.Key():               {Decided: 2200, HeldOut: 200, Sent: 2000, TreatedRepurchased: 400, TreatedRevenue: 2_000_000, HeldRepurchased: 20, HeldRevenue: 90_000},
		"royal|thank-you||0|||": {Decided: 50, Sent: 50, TreatedRepurchased: 20},
		"early|step|early|2|story|step/early-story|": {Decided: 60, HeldOut: 6, Sent: 54, TreatedRepurchased: 6, HeldRepurchased: 1},
	}, 3)
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]string{}
	for _, l := range r.Rows {
		verdicts[l.Rank] = l.Verdict
	}
	if verdicts["new"] != report.Better || verdicts["royal"] != report.NoHoldout || verdicts["early"] != report.Undecided {
		t.Errorf("verdicts %v", verdicts)
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range r.Rows {
		if l.Rank == "new" && (l.RevenueLift == nil || l.RevenueLift.Abs != 1000-450) {
			t.Errorf("revenue lift %+v; want 1,000 − 450 yen per customer", l.RevenueLift)
		}
	}
	for _, want := range []string{`"month":"2026-11"`, `"plan_version":2`, `"treated":{"n":2000,"repurchased":400`, `"lift":{"abs":0.1`, `"ci_low":`, `"significant":true`, `"needed":`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON lacks %s: %s", want, js)
		}
	}
}
