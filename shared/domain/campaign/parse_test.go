package campaign_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/campaign"
)

func TestParseRejectsWithFileAndLine(t *testing.T) {
	known := campaign.Known{
		Rank:     func(id string) bool { return id == "royal" },
		Template: func(dir string) bool { return dir == "newsletter/a" },
	}
	good := "campaigns:\n  - id: a\n    send_at: \"2026-12-05T10:00:00+09:00\"\n    audience:\n      all: true\n    templates:\n      default: newsletter/a\n"
	if cs, err := campaign.Parse("campaigns.yaml", []byte(good), known); err != nil || len(cs) != 1 {
		t.Fatalf("good file: %v %v", cs, err)
	}
	tests := []struct{ name, src, want string }{
		{"unknown key", strings.Replace(good, "    audience:", "    audiance:\n      all: true\n    audience:", 1), "campaigns.yaml:4: field audiance not found"},
		{"two audiences", strings.Replace(good, "all: true", "all: true\n      ranks: [royal]", 1), "exactly one of ranks, tags or all"},
		{"missing template", strings.Replace(good, "newsletter/a", "newsletter/b", 1), "no template folder templates/newsletter/b"},
		{"unknown rank", strings.Replace(good, "all: true", "ranks: [king]", 1), `no rank "king"`},
		{"no send time", strings.Replace(good, "    send_at: \"2026-12-05T10:00:00+09:00\"\n", "", 1), "send_at is required"},
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
