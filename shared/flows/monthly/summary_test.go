package monthly_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/flows/monthly"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current summary")

// The owner's email, word for word: a month with a lift and a drop, one with
// rows but nothing clear, one with nothing measured.
func TestSummaryGolden(t *testing.T) {
	labels := map[string]string{"new": "新規顧客", "repeater": "リピーター"}
	label := func(r string) string {
		if l, ok := labels[r]; ok {
			return l
		}
		return r
	}
	undecided := map[string]report.Counters{"early|step|early|2|story|step/early-story|": november["early|step|early|2|story|step/early-story|"]}
	tests := []struct {
		name   string
		rows   map[string]report.Counters
		shop   string
		link   string
		golden string
	}{
		{"lifts and drops", november, "手しごと雑貨 こもれび", "https://api.example.jp/studio?report=2026-11", "summary-highlights"},
		{"nothing clear yet", undecided, "手しごと雑貨 こもれび", "https://api.example.jp/studio?report=2026-11", "summary-undecided"},
		{"nothing measured, no shop name, no link", nil, "", "", "summary-empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := report.Build("2026-11", tt.rows, len(tt.rows))
			if err != nil {
				t.Fatal(err)
			}
			m := monthly.Summary(rep, tt.shop, tt.link, label)
			got := "Subject: " + m.Subject + "\n\n" + m.Text + "\n--- html ---\n" + m.HTML + "\n"
			path := filepath.Join("testdata", tt.golden+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("summary differs from %s (-update rewrites it):\n%s", path, got)
			}
		})
	}
}

// Shop names and plan names come from marketers: the HTML part escapes them.
func TestSummaryHTMLEscapes(t *testing.T) {
	rep, _ := report.Build("2026-11", nil, 0)
	m := monthly.Summary(rep, `<b>こもれび</b>`, "https://x.example/report?month=2026-11&a=<1>", nil)
	if strings.Contains(m.HTML, "<b>") || !strings.Contains(m.HTML, `<a href="https://x.example/report?month=2026-11&amp;a=&lt;1&gt;">`) {
		t.Errorf("HTML: %s", m.HTML)
	}
}
