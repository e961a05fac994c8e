package campaign_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/experiment"
	"github.com/daifuku/daifuku/shared/domain/stats"
)

// A campaign's variants and its test are refused with a reason when they
// cannot work.
func TestParseRefusesNonsenseVariantsAndTests(t *testing.T) {
	known := campaign.Known{
		Rank:     func(id string) bool { return id == "royal" },
		Template: func(dir string) bool { return dir == "newsletter/a" || dir == "newsletter/b" },
	}
	head := "campaigns:\n  - id: a\n    send_at: \"2026-12-05T10:00:00+09:00\"\n    audience: {all: true}\n"
	variants := "    variants:\n      - {template: newsletter/a, weight: 50}\n      - {template: newsletter/b, weight: 50}\n"
	good := head + variants + "    test: {share: 20%, after: 4h, winner_by: clicks}\n"
	cf, err := campaign.Parse("campaigns.yaml", []byte(good), known)
	if err != nil {
		t.Fatalf("good file: %v", err)
	}
	if w := (&campaign.Test{After: 90 * time.Minute}).Wait(); w != "1h30m" {
		t.Errorf("90 minutes read %q", w)
	}
	if c := cf.Campaigns[0]; c.Test == nil || c.Test.Share != 0.2 || c.Test.After != 4*time.Hour || c.Test.WinnerBy != campaign.ByClicks || len(c.Variants) != 2 {
		t.Errorf("parsed %+v test %+v", c, c.Test)
	}
	tests := []struct{ name, src, want string }{
		{"weights that do not add up", strings.Replace(good, "weight: 50}\n      -", "weight: 40}\n      -", 1), "weights add up to 90, want 100"},
		{"a variant naming no template", strings.Replace(good, "newsletter/b", "newsletter/c", 1), "template newsletter/c does not exist"},
		{"one variant", head + "    variants:\n      - {template: newsletter/a, weight: 100}\n", "one variant compares nothing"},
		{"templates and variants", head + "    templates: {default: newsletter/a}\n" + variants, "give templates or variants, not both"},
		{"a 100% holdout", head + "    holdout: 100%\n" + variants, "holdout 100%: nobody would get the message"},
		{"a test share of 0", strings.Replace(good, "share: 20%", "share: 0%", 1), "test: share 0%: nobody would see the variants"},
		{"a test share of 100%", strings.Replace(good, "share: 20%", "share: 100%", 1), "test: share 100%: nobody would be left for the winner"},
		{"a test without variants", head + "    templates: {default: newsletter/a}\n    test: {share: 20%, after: 4h, winner_by: clicks}\n", "a test needs two or more variants"},
		{"an unknown winner rule", strings.Replace(good, "winner_by: clicks", "winner_by: opens", 1), `winner_by "opens": want clicks or purchases`},
		{"no winner rule", strings.Replace(good, ", winner_by: clicks", "", 1), `winner_by "": want clicks or purchases`},
		{"no after", strings.Replace(good, " after: 4h,", "", 1), "test: after: say how long to wait"},
		{"a negative after", strings.Replace(good, "after: 4h", "after: -4h", 1), "test: after: say how long to wait"},
		{"after in minutes", strings.Replace(good, "after: 4h", "after: 10m", 1), "test: after 10m: want 1h to 168h"},
		{"after as a bare number", strings.Replace(good, "after: 4h", "after: 4", 1), "campaigns.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := campaign.Parse("campaigns.yaml", []byte(tt.src), known)
			var ve *campaign.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want …%s…", err, tt.want)
			}
		})
	}
}

// A holdout of most of the audience is allowed, with a warning.
func TestCampaignWarnsAboveHalfHeldOut(t *testing.T) {
	c := campaign.Campaign{Holdout: 0.6}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "most customers") {
		t.Errorf("warnings %v", w)
	}
	c.Holdout = 0.5
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("warnings at 50%%: %v", w)
	}
}

func TestChooseWinner(t *testing.T) {
	ab := []experiment.Variant{{Template: "a", Weight: 50}, {Template: "b", Weight: 50}}
	at := time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		results   map[string]stats.Proportion
		winner    string
		clear     bool
		verdictIn string
	}{
		{"a clear winner: 30% against 5% of 200 each", map[string]stats.Proportion{"a": {K: 10, N: 200}, "b": {K: 60, N: 200}}, "b", true, "winner by clicks: b"},
		{"close rates: the best still goes, not clearly", map[string]stats.Proportion{"a": {K: 22, N: 200}, "b": {K: 20, N: 200}}, "a", false, "no clear winner (not significant) by clicks: sent the best so far, a"},
		{"a tie goes to the variant named first", map[string]stats.Proportion{"a": {K: 5, N: 100}, "b": {K: 5, N: 100}}, "a", false, "no clear winner"},
		{"no data at all", map[string]stats.Proportion{}, "a", false, "no clear winner"},
		{"a late count above the sends is capped at them", map[string]stats.Proportion{"a": {K: 90, N: 50}, "b": {K: 1, N: 50}}, "a", true, "+98.0 points"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := campaign.ChooseWinner(campaign.ByClicks, ab, tt.results, at)
			if w.Template != tt.winner || w.Clear != tt.clear || !strings.Contains(w.Verdict(), tt.verdictIn) {
				t.Errorf("winner %q clear %v verdict %q; want %q clear %v …%s…", w.Template, w.Clear, w.Verdict(), tt.winner, tt.clear, tt.verdictIn)
			}
			if len(w.Results) != 2 || w.Results[0].Template != "a" || w.Results[0].Rate > 1 {
				t.Errorf("results %+v: want one per variant, in their order, rates ≤ 1", w.Results)
			}
		})
	}
}
