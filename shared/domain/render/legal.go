package render

import (
	"errors"
	"html"
	"path"
	"strings"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// required is one thing the law (特定電子メール法, article 4) asks an
// advertising email to show, or an opt-out it must offer, with the
// binding that shows it.
type required struct {
	what, binding string
	value         func(Data) string
}

var footerRequires = []required{
	{"the sender's legal name (送信者の氏名又は名称)", "{{ shop.legal_name }}", func(d Data) string { return d.Shop.LegalName }},
	{"the sender's postal address (住所)", "{{ shop.postal_address }}", func(d Data) string { return d.Shop.PostalAddress }},
	{"the sender's phone (電話番号)", "{{ shop.phone }}", func(d Data) string { return d.Shop.Phone }},
	{"the contact for complaints (苦情・問合せ先)", "{{ shop.support_email }}", func(d Data) string { return d.Shop.SupportEmail }},
	{"the opt-out link (配信停止)", "{{ links.unsubscribe }}", func(d Data) string { return d.Unsubscribe }},
	{"the preference page link (配信設定)", "{{ links.preferences }}", func(d Data) string { return d.Preferences }},
}

// legalSample is sample data whose sender details and links are markers
// found nowhere else, so a check finds the binding, not a coincidence (a
// legal name equal to the shop's name).
func legalSample(shop Shop) Data {
	shop.LegalName, shop.PostalAddress, shop.Phone = "〔送信者の氏名〕", "〔送信者の住所〕", "〔送信者の電話〕"
	if shop.SupportEmail == "" {
		shop.SupportEmail = "support@example.jp"
	}
	return Sample(shop, "", "", true)
}

// CheckSenderFooter renders an email folder's HTML and text with sample
// data and checks that each shows what Japan's anti-spam law asks of an
// advertising email: the sender's legal name, postal address, phone and a
// contact for complaints, and a working opt-out (the unsubscribe link, and
// the preference page). The rendered words are checked, not the source: a
// binding inside a condition that hides it is caught. The error names the
// file and exactly what to add.
func (lib *Library) CheckSenderFooter(dir string, shop Shop, rankID, rankLabel string) error {
	s, ok := lib.sets[dir]
	if !ok || !s.has(customer.Email) {
		return nil
	}
	d := legalSample(shop)
	d.RankID, d.RankLabel = rankID, rankLabel
	var errs []error
	for _, f := range []struct {
		name   string
		escape func(string) string
	}{{fileHTML, html.EscapeString}, {fileText, noEscape}} {
		t := s.html
		if f.name == fileText {
			t = s.text
		}
		out, err := lib.run(dir, f.name, t, d.bindings(f.escape))
		if err != nil {
			return err // the render check reports it
		}
		var missing, add []string
		for _, r := range footerRequires {
			if !strings.Contains(out, f.escape(r.value(d))) {
				missing, add = append(missing, r.what), append(add, r.binding)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, &Error{File: path.Join(dir, f.name), Msg: "特定電子メール法: the footer of an advertising email must show " +
				strings.Join(missing, ", ") + "; add " + strings.Join(add, " ") + " to the footer (as templates/thank-you/default does)"})
		}
	}
	return errors.Join(errs...)
}
