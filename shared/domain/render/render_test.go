package render_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/templates"
)

func lib(t *testing.T, files map[string]string) (*render.Library, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return render.Load(fsys)
}

var emailSet = map[string]string{
	"thank-you/default/email.subject.liquid": "{{ customer.name }}様、ありがとうございます",
	"thank-you/default/email.html.liquid":    "<p>{{ customer.name }}様</p>{% for i in order.items %}<li>{{ i.name }} {{ i.price | yen }}</li>{% endfor %}",
	"thank-you/default/email.txt.liquid":     "{{ customer.name }}様 合計 {{ order.total | yen }}",
	"thank-you/default/line.flex.json.liquid": `{"type":"flex","altText":"{{ customer.name }}様へ",
	  "contents":{"type":"bubble","body":{"type":"box","layout":"vertical","contents":[{"type":"text","text":"{{ customer.name }}"}]}}}`,
	"thank-you/royal/line.txt.liquid": "{{ rank.label }}の{{ customer.name }}様、いつもありがとうございます",
}

func data() render.Data {
	return render.Data{
		Customer:  &customer.Customer{ID: "C1", Name: `<b>"花子" & co</b>`},
		RankID:    "royal",
		RankLabel: "ロイヤル顧客",
		Order: &customer.Order{ID: "O1", Total: 12800, OrderedAt: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC),
			Items: []customer.Item{{Name: "<script>", Quantity: 1, Price: 12800}}},
		Shop: render.Shop{Name: "こもれび"},
	}
}

func TestRenderEscapesPerChannel(t *testing.T) {
	l, err := lib(t, emailSet)
	if err != nil {
		t.Fatal(err)
	}
	out, err := l.Render(message.ThankYou, rank.Rank{ID: "new"}, customer.Email, data())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.Email.HTML, "<b>") || strings.Contains(out.Email.HTML, "<script>") {
		t.Errorf("HTML body carries customer text unescaped: %s", out.Email.HTML)
	}
	if !strings.Contains(out.Email.HTML, "&lt;b&gt;&#34;花子&#34; &amp; co&lt;/b&gt;様") {
		t.Errorf("HTML body = %s", out.Email.HTML)
	}
	if want := `<b>"花子" & co</b>様 合計 12,800円`; out.Email.Text != want {
		t.Errorf("text body = %q, want %q", out.Email.Text, want)
	}
	if out.Template != "thank-you/default/email" {
		t.Errorf("template = %q", out.Template)
	}

	flex, err := l.Render(message.ThankYou, rank.Rank{ID: "new"}, customer.LINE, data())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(flex.LINE.Flex), `"text":"\u003cb\u003e\"花子\" \u0026 co\u003c/b\u003e"`) &&
		!strings.Contains(string(flex.LINE.Flex), `"text":"<b>\"花子\" & co</b>"`) {
		t.Errorf("flex JSON does not carry the escaped name: %s", flex.LINE.Flex)
	}
}

func TestRenderPicksRankThenDefault(t *testing.T) {
	l, err := lib(t, emailSet)
	if err != nil {
		t.Fatal(err)
	}
	royal, err := l.Render(message.ThankYou, rank.Rank{ID: "royal"}, customer.LINE, data())
	if err != nil {
		t.Fatal(err)
	}
	if royal.Template != "thank-you/royal/line" || !strings.HasPrefix(royal.LINE.Text, "ロイヤル顧客の") {
		t.Errorf("royal LINE = %+v", royal)
	}
	// royal has no email of its own: the default's is used.
	mail, err := l.Render(message.ThankYou, rank.Rank{ID: "royal", Lapsed: true}, customer.Email, data())
	if err != nil {
		t.Fatal(err)
	}
	if mail.Template != "thank-you/default/email" {
		t.Errorf("royal email template = %q, want the default", mail.Template)
	}
	if _, err := l.Render(message.Birthday, rank.Rank{ID: "royal"}, customer.Email, data()); !errors.Is(err, render.ErrNoTemplate) {
		t.Errorf("a kind without templates: err = %v, want ErrNoTemplate", err)
	}
}

func TestLoadRejectsBrokenTemplates(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"unclosed tag", map[string]string{"thank-you/new/line.txt.liquid": "hi\n{% if customer.name %}\nx"}, "thank-you/new/line.txt.liquid:2"},
		{"email without its text part", map[string]string{
			"thank-you/new/email.subject.liquid": "s", "thank-you/new/email.html.liquid": "h"}, "an email needs all of"},
		{"both LINE forms", map[string]string{
			"thank-you/new/line.txt.liquid": "a", "thank-you/new/line.flex.json.liquid": "{}"}, "choose one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := lib(t, tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestRenderRejectsUnknownVariables(t *testing.T) {
	l, err := lib(t, map[string]string{"thank-you/default/line.txt.liquid": "{{ customer.nmae }}様"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Render(message.ThankYou, rank.Rank{ID: "new"}, customer.LINE, data())
	var re *render.Error
	if !errors.As(err, &re) || re.File != "thank-you/default/line.txt.liquid" {
		t.Errorf("err = %v, want a render.Error naming the file", err)
	}
}

func TestYen(t *testing.T) {
	for in, want := range map[int64]string{0: "0円", 999: "999円", 1000: "1,000円", 1234567: "1,234,567円", -5000: "-5,000円"} {
		if got := render.Yen(in); got != want {
			t.Errorf("Yen(%d) = %q, want %q", in, got, want)
		}
	}
}

// A lapsed customer is not greeted as a first-time buyer or a regular: the
// shipped birthday templates have lapsed words of their own.
func TestLapsedCustomersGetLapsedWords(t *testing.T) {
	l, err := render.Load(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"new", "early", "repeater", "semi-royal", "royal", "prospect"} {
		for _, ch := range []customer.Channel{customer.Email, customer.LINE} {
			out, err := l.Render(message.Birthday, rank.Rank{ID: id, Lapsed: true}, ch, data())
			if err != nil {
				t.Fatal(err)
			}
			var text string
			if out.LINE != nil {
				text = out.LINE.Text + string(out.LINE.Flex)
			}
			if out.Email != nil {
				text = out.Email.Subject + out.Email.Text
			}
			// The rank's own lapsed words where it has them (royal, semi-royal, repeater), else the shared ones.
			own := strings.HasPrefix(out.Template, "birthday/"+id+"-lapsed/")
			if own != (id == "royal" || id == "semi-royal" || id == "repeater") {
				t.Errorf("%s:lapsed on %s: %s, want the rank's own lapsed birthday only for royal, semi-royal and repeater", id, ch, out.Template)
			}
			if !(own || strings.HasPrefix(out.Template, "birthday/lapsed/")) || strings.Contains(text, "はじめて") || strings.Contains(text, "いつも{") ||
				strings.Contains(text, "いつもご利用") || !strings.Contains(text, "ご無沙汰") {
				t.Errorf("%s:lapsed on %s: %s\n%s", id, ch, out.Template, text)
			}
		}
	}
	// The active first-time buyer keeps the words meant for them.
	if out, _ := l.Render(message.Birthday, rank.Rank{ID: "new"}, customer.LINE, data()); out.Template != "birthday/new/line" {
		t.Errorf("new, active: %s", out.Template)
	}
}

// The tea tip pours the water into the teapot: it was never in it before.
func TestTeaTipPoursIntoTheTeapot(t *testing.T) {
	err := fs.WalkDir(templates.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(templates.FS, path)
		if strings.Contains(string(b), "急須に戻して") {
			t.Errorf("%s: 「急須に戻して」 should read 「急須に注いで」", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
