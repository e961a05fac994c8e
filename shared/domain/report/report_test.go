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
		"early|step|early|2|story|step/early-story|":                  {Decided: 60, HeldOut: 6, Sent: 54, TreatedRepurchased: 6, HeldRepurchased: 1},
		"semi-royal|step|semi-royal|2|check-in|step/regular-checkin|": {Decided: 7, HeldOut: 1, Sent: 6, TreatedRepurchased: 2, TreatedRevenue: 9000, TreatedRevenueSq: 45_000_000},
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
	for _, l := range r.Rows {
		if l.Rank == "semi-royal" && l.RevenueLift != nil {
			t.Errorf("one held-out customer bounds no revenue lift: %+v", l.RevenueLift)
		}
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

func TestMonthBeforeIsJapansPreviousMonth(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"the schedule's run: 09:00 on 1 December in Japan is 00:00 UTC", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "2026-11"},
		{"the same instant read in Japan", time.Date(2026, 12, 1, 9, 0, 0, 0, jst), "2026-11"},
		{"00:00 on the 1st in Japan is still the last day in UTC", time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC), "2026-11"},
		{"a second before that is November in Japan too", time.Date(2026, 11, 30, 14, 59, 59, 0, time.UTC), "2026-10"},
		{"late in the month, any hour", time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), "2026-12"},
		{"January looks back on December of the year before", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2026-12"},
		{"a redelivery hours later says the same", time.Date(2026, 12, 1, 5, 30, 0, 0, time.UTC), "2026-11"},
		{"after 31 March comes 1 April: no day overflow", time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC), "2027-02"},
		{"a clock in another zone", time.Date(2026, 11, 30, 10, 0, 0, 0, time.FixedZone("PST", -8*3600)), "2026-11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := report.MonthBefore(tt.at); got != tt.want {
				t.Errorf("MonthBefore(%s) = %s, want %s", tt.at.Format(time.RFC3339), got, tt.want)
			}
		})
	}
}
