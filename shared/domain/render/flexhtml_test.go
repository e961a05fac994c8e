package render_test

import (
	"strings"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/templates"
)

// Every Flex template draws, with its words, escaped.
func TestFlexHTMLDrawsEveryFlexTemplate(t *testing.T) {
	lib, err := render.Load(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	drawn := 0
	for _, ref := range lib.Refs() {
		dir := string(ref.Kind) + "/" + ref.Rank
		if !lib.HasIn(dir, customer.LINE) {
			continue
		}
		d := render.Sample(render.Shop{Name: "見本の店"}, "royal", "ロイヤル", false)
		out, err := lib.RenderIn(dir, customer.LINE, d)
		if err != nil {
			t.Fatal(err)
		}
		if out.LINE.Flex == nil {
			continue
		}
		html, alt, err := render.FlexHTML(out.LINE.Flex)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if alt == "" || !strings.Contains(html, "flex-bubble") || strings.Contains(html, "<b>&") {
			t.Errorf("%s: alt %q, html %.200s", dir, alt, html)
		}
		drawn++
	}
	if drawn == 0 {
		t.Fatal("no Flex template drawn")
	}
}

func TestFlexHTMLRefusesWhatIsNotFlex(t *testing.T) {
	for _, raw := range []string{`{"type":"text"}`, `{"type":"flex","contents":{"type":"marquee"}}`, `not json`} {
		if _, _, err := render.FlexHTML([]byte(raw)); err == nil {
			t.Errorf("%s drawn", raw)
		}
	}
}

// A value cannot leave its property: the preview is drawn into the studio
// page, and must not restyle it or fetch from elsewhere.
func TestFlexHTMLKeepsValuesInTheirProperty(t *testing.T) {
	raw := `{"type":"flex","altText":"a","contents":{"type":"bubble","body":{"type":"box","layout":"vertical","backgroundColor":"red;position:fixed;inset:0",` +
		`"contents":[{"type":"text","text":"<b>x</b>","color":"#111;background:url(https://evil.example/x)"},` +
		`{"type":"image","url":"javascript:alert(1)"},{"type":"text","contents":[{"type":"span","text":"span<i>"}]}]}}}`
	html, _, err := render.FlexHTML([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"position", "url(", "javascript:", "<b>", "<i>"} {
		if strings.Contains(html, bad) {
			t.Errorf("%q in %s", bad, html)
		}
	}
	if !strings.Contains(html, "span&lt;i&gt;") {
		t.Errorf("span text missing: %s", html)
	}
}
