package content_test

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/templates"
)

// shipped copies the embedded content so a test can break one file of it.
func shipped(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(templates.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.FS, path)
		m[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestShippedContentLoads(t *testing.T) {
	c, err := content.LoadContent(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules.Ranks) != 6 || c.Shop.FromEmail == "" {
		t.Errorf("rules %d ranks, shop %+v", len(c.Rules.Ranks), c.Shop)
	}
	// Every default rank has its own thank-you, in both channels.
	for _, r := range c.Rules.Ranks {
		for _, file := range []string{"email.subject.liquid", "email.html.liquid", "email.txt.liquid"} {
			if _, err := fs.Stat(templates.FS, "thank-you/"+r.ID+"/"+file); err != nil {
				t.Errorf("rank %s has no %s", r.ID, file)
			}
		}
		txt, _ := fs.Glob(templates.FS, "thank-you/"+r.ID+"/line.*.liquid")
		if len(txt) != 1 {
			t.Errorf("rank %s has %d LINE templates, want 1", r.ID, len(txt))
		}
	}
}

func TestBrokenContentIsRejectedWithFileAndLine(t *testing.T) {
	tests := []struct {
		name, file, src, want string
	}{
		{"rank rule with an unknown field", "ranks.yaml", "ranks:\n  - id: a\n    when: [spend >= 1]\n  - id: b\n", "templates/ranks.yaml:3: condition"},
		{"shop without sender", "shop.yaml", "name: x\n", "from_email"},
		{"shop with a typo", "shop.yaml", "name: x\nfrom_emial: a@b\n", "from_emial"},
		{"Flex message without altText", "thank-you/royal/line.flex.json.liquid",
			`{"type":"flex","contents":{"type":"bubble"}}`, "altText is required"},
		{"Flex message that is not JSON", "thank-you/royal/line.flex.json.liquid", `{"type":"flex",`, "not valid JSON"},
		{"Flex contents of an unknown type", "thank-you/royal/line.flex.json.liquid",
			`{"type":"flex","altText":"x","contents":{"type":"bubbles"}}`, "bubble or a carousel"},
		{"template syntax", "thank-you/new/email.txt.liquid", "ok\n{% for x in order.items %}\n", "thank-you/new/email.txt.liquid:2"},
		{"unknown variable in LINE text", "thank-you/new/line.txt.liquid", "{{ custmer.name }}", "thank-you/new/line.txt.liquid"},
		{"unknown variable in an email", "thank-you/early/email.html.liquid", "<p>\n{{ order.totl }}</p>", "thank-you/early/email.html.liquid:2"},
		{"an invented testimonial", "step/prospect-stories/line.txt.liquid",
			"{{ shop.name }}です。\n{% if voices.size > 0 %}{% endif %}\n「毎朝使っています」（30代・女性）\n", "step/prospect-stories/line.txt.liquid:3: \"30代・女性\" reads as a customer's testimonial"},
		{"an invented testimonial, the other way round", "newsletter/2026-winter-default/email.txt.liquid",
			"お客様の声\n\n【女性／60代】とても良い品でした", "newsletter/2026-winter-default/email.txt.liquid:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := shipped(t)
			m[tt.file] = &fstest.MapFile{Data: []byte(tt.src)}
			_, err := content.LoadContent(m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// The royal and semi-royal welcomes promise word of new items before
// everyone else: the shipped campaigns give those ranks early access.
func TestPromisedEarlyNoticeIsKept(t *testing.T) {
	c, err := content.LoadContent(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, rk := range []string{"royal", "semi-royal"} {
		matches, _ := fs.Glob(templates.FS, "step/"+rk+"-welcome/*")
		promised := false
		for _, m := range matches {
			b, _ := fs.ReadFile(templates.FS, m)
			promised = promised || strings.Contains(string(b), "ひと足早く")
		}
		if !promised {
			continue
		}
		if e := c.EarlyAccess; e == nil || e.Hours <= 0 || !slices.Contains(e.Ranks, rk) {
			t.Errorf("the %s welcome promises early notice, but campaigns.yaml gives %s no early access (%+v)", rk, rk, e)
		}
		for _, camp := range c.Campaigns {
			if !slices.Contains(camp.EarlyRanks(), rk) {
				t.Errorf("campaign %s gives %s no early access", camp.ID, rk)
			}
		}
	}
}
