package reportpage_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/edge/reportpage"
)

// sample is a month with measured rows in two ranks, two versions of one
// plan, weeks and moves.
func sample(t *testing.T) *report.Report {
	t.Helper()
	r, err := report.Build("2026-11", map[string]report.Counters{
		"new|step|new|1|care|step/new-care|":          {Decided: 1100, HeldOut: 100, Sent: 1000, Opened: 600, Clicked: 200, TreatedRepurchased: 150, HeldRepurchased: 5, TreatedRevenue: 600000, HeldRevenue: 20000},
		"new|step|new|2|care|step/new-care|":          {Decided: 1100, HeldOut: 100, Sent: 1000, Opened: 650, Clicked: 260, TreatedRepurchased: 190, HeldRepurchased: 6},
		"repeater|step|repeater|2|visit|step/rep|<b>": {Decided: 330, HeldOut: 30, Sent: 300, Opened: 100, Clicked: 30, TreatedRepurchased: 40, HeldRepurchased: 5},
		"royal|thank-you||0|||":                       {Decided: 40, Sent: 40, TreatedRepurchased: 12},
		"~week|2026-11-02":                            {Decided: 800, HeldOut: 60, Sent: 740, TreatedRepurchased: 100, HeldRepurchased: 4},
		"~week|2026-11-09":                            {Decided: 900, HeldOut: 70, Sent: 830, TreatedRepurchased: 120, HeldRepurchased: 5},
		"~move|new|repeater":                          {Moved: 42},
		"~move|repeater|repeater:lapsed":              {Moved: 7},
	}, 8)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestThePageShowsTheMonthOfflineAndEscaped(t *testing.T) {
	var b bytes.Buffer
	labels := map[string]string{"new": "新規顧客", "repeater": "リピーター", "royal": "ロイヤル顧客"}
	err := reportpage.Write(&b, reportpage.Page{Shop: "茶房 <script>", Report: sample(t), Ranks: []string{"royal", "royal:lapsed", "repeater", "repeater:lapsed", "new", "new:lapsed"},
		Label: func(r string) string {
			if l, ok := labels[r]; ok {
				return l
			}
			return r
		}, Version: 2, Hypothesis: "早めのフォローで二回目の購入が増える", Generated: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if dir := os.Getenv("REPORT_PAGE_OUT"); dir != "" {
		_ = os.WriteFile(dir+"/report-sample.html", b.Bytes(), 0o644)
	}
	for _, want := range []string{"効果レポート", "2026年12月1日 09:00", "新規顧客", "リピーター", "効果あり", "早めのフォローで",
		"<svg", "<th>到達</th>", "<th>苦情</th>", "new v1 · care", "new v2 · care", "&lt;script&gt;", "&lt;b&gt;", ">42<", "2026-11-09"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Offline and inert: nothing fetched from elsewhere, no script.
	for _, bad := range []string{"<script", "http://", "https://", "src=", "ZgotmplZ", "NaN", "Inf"} {
		if strings.Contains(page, bad) {
			t.Errorf("page has %q", bad)
		}
	}
}

func TestHighlightsAreTheBiggestClearChanges(t *testing.T) {
	h := report.Highlights(sample(t), 3)
	if len(h) == 0 || h[0].Plan != "new" || h[0].PlanVersion != 2 {
		t.Fatalf("highlights %+v", h)
	}
	for _, l := range h {
		if l.Verdict != report.Better && l.Verdict != report.Worse {
			t.Errorf("%s is not a clear change", l.Verdict)
		}
	}
}
