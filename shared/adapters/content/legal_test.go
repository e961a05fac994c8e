package content_test

import (
	"strings"
	"testing"

	"github.com/daifuku/daifuku/shared/adapters/content"
)

// 特定電子メール法: an advertising email's footer names the sender, where
// they are and whom to contact, and offers an opt-out. Checked on the
// rendered words, so a binding hidden behind a condition is caught too.
func TestFooterWithoutWhatTheLawAsksIsRefused(t *testing.T) {
	const dir = "newsletter/2026-winter-royal/"
	for name, tc := range map[string]struct {
		file, cut, hide, want string
	}{
		"no postal address (html)": {file: "email.html.liquid", cut: "<br>{{ shop.postal_address }}", want: "{{ shop.postal_address }}"},
		"no postal address (text)": {file: "email.txt.liquid", cut: "住所：{{ shop.postal_address }}\n", want: "postal address"},
		"no legal name":            {file: "email.txt.liquid", cut: "送信者：{{ shop.legal_name }}\n", want: "{{ shop.legal_name }}"},
		"no phone":                 {file: "email.html.liquid", cut: "<br>電話：{{ shop.phone }}", want: "{{ shop.phone }}"},
		"no opt-out link": {file: "email.txt.liquid",
			cut: "{%- if links.unsubscribe != \"\" %}\n配信停止はこちら: {{ links.unsubscribe }}\n{%- endif %}\n", want: "{{ links.unsubscribe }}"},
		"address hidden by a condition": {file: "email.txt.liquid", cut: "住所：{{ shop.postal_address }}\n",
			hide: "{% if false %}住所：{{ shop.postal_address }}{% endif %}\n", want: "postal address"},
	} {
		t.Run(name, func(t *testing.T) {
			fsys := shipped(t)
			f := fsys[dir+tc.file]
			src := string(f.Data)
			if !strings.Contains(src, tc.cut) {
				t.Fatalf("%s has no %q", tc.file, tc.cut)
			}
			f.Data = []byte(strings.Replace(src, tc.cut, tc.hide, 1))
			_, err := content.LoadContent(fsys)
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			if !strings.Contains(msg, dir+tc.file) || !strings.Contains(msg, "特定電子メール法") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q: want the file, the law and %q", msg, tc.want)
			}
		})
	}
}

// The thank-you answers a purchase: it is exempt (though it shows the sender too).
func TestThankYouFooterIsExempt(t *testing.T) {
	fsys := shipped(t)
	f := fsys["thank-you/default/email.txt.liquid"]
	f.Data = []byte(strings.Replace(string(f.Data), "住所：{{ shop.postal_address }}\n", "", 1))
	if _, err := content.LoadContent(fsys); err != nil {
		t.Fatal(err)
	}
}

func TestShopWithoutTheSenderIsRefused(t *testing.T) {
	for _, field := range []string{"legal_name", "postal_address", "phone", "support_email"} {
		fsys := shipped(t)
		f := fsys["shop.yaml"]
		var kept []string
		for _, l := range strings.Split(string(f.Data), "\n") {
			if !strings.HasPrefix(l, field+":") {
				kept = append(kept, l)
			}
		}
		f.Data = []byte(strings.Join(kept, "\n"))
		_, err := content.LoadContent(fsys)
		if err == nil || !strings.Contains(err.Error(), "shop.yaml") || !strings.Contains(err.Error(), field) {
			t.Errorf("without %s: %v", field, err)
		}
	}
}
