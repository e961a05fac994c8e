package campaign_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/campaign"
)

func TestParseRejectsWithFileAndLine(t *testing.T) {
	known := campaign.Known{
		Rank:     func(id string) bool { return id == "royal" },
		Template: func(dir string) bool { return dir == "newsletter/a" },
	}
	good := "campaigns:\n  - id: a\n    send_at: \"2026-12-05T10:00:00+09:00\"\n    audience:\n      all: true\n    templates:\n      default: newsletter/a\n"
	if cf, err := campaign.Parse("campaigns.yaml", []byte(good), known); err != nil || len(cf.Campaigns) != 1 {
		t.Fatalf("good file: %v %v", cf, err)
	}
	tests := []struct{ name, src, want string }{
		{"unknown key", strings.Replace(good, "    audience:", "    audiance:\n      all: true\n    audience:", 1), "campaigns.yaml:4: field audiance not found"},
		{"two audiences", strings.Replace(good, "all: true", "all: true\n      ranks: [royal]", 1), "exactly one of ranks, tags or all"},
		{"missing template", strings.Replace(good, "newsletter/a", "newsletter/b", 1), "no template folder templates/newsletter/b"},
		{"unknown rank", strings.Replace(good, "all: true", "ranks: [king]", 1), `no rank "king"`},
		{"no send time", strings.Replace(good, "    send_at: \"2026-12-05T10:00:00+09:00\"\n", "", 1), "send_at is required"},
		{"early access for an unknown rank", "early_access: {ranks: [king], hours: 24}\n" + good, `early_access: early: no active rank "king"`},
		{"early access a month ahead", "early_access: {ranks: [royal], hours: 720}\n" + good, "1 to 168 hours"},
		{"early access without ranks", strings.Replace(good, "    templates:", "    early: {hours: 24}\n    templates:", 1), "campaigns.yaml:2: campaign a: early"},
		{"early access for a lapsed side", strings.Replace(good, "    templates:", "    early: {ranks: [\"royal:lapsed\"], hours: 24}\n    templates:", 1), "no active rank"},
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

// early_access applies to every campaign that does not set its own.
func TestEarlyAccessDefault(t *testing.T) {
	known := campaign.Known{Rank: func(id string) bool { return id == "royal" || id == "new" }, Template: func(string) bool { return true }}
	src := "early_access: {ranks: [royal], hours: 24}\ncampaigns:\n" +
		"  - {id: a, send_at: \"2026-12-05T10:00:00+09:00\", audience: {all: true}, templates: {default: x}}\n" +
		"  - {id: b, send_at: \"2026-12-05T10:00:00+09:00\", audience: {all: true}, templates: {default: x}, early: {ranks: [new], hours: 2}}\n" +
		"  - {id: c, send_at: \"2026-12-05T10:00:00+09:00\", audience: {all: true}, templates: {default: x}, early: {hours: 0}}\n"
	cf, err := campaign.Parse("campaigns.yaml", []byte(src), known)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := cf.Campaigns[0], cf.Campaigns[1], cf.Campaigns[2]
	if got := a.EarlyAt(); !got.Equal(a.SendAt.Add(-24*time.Hour)) || len(a.EarlyRanks()) != 1 {
		t.Errorf("a: early at %v ranks %v; want the default's 24 hours for royal", got, a.EarlyRanks())
	}
	if got := b.EarlyAt(); !got.Equal(b.SendAt.Add(-2*time.Hour)) || b.EarlyRanks()[0] != "new" {
		t.Errorf("b: early at %v ranks %v; want its own", got, b.EarlyRanks())
	}
	if !c.EarlyAt().Equal(c.SendAt) || c.EarlyRanks() != nil {
		t.Errorf("c opted out: early at %v ranks %v", c.EarlyAt(), c.EarlyRanks())
	}
}
