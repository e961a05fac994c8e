package webhooks

import (
	"context"
	"fmt"
	"html"
	"strings"

	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/domain/webhook"
)

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, env delivery.Envelope, msg *render.Email) (delivery.Receipt, error)
}

// Forwarder passes a customer's email reply on to the shop's support inbox:
// replies go to the Inbound Parse address now, and someone must read and
// answer them. Staff answer with Reply, which goes to the customer.
type Forwarder struct {
	Mail Mailer
	Shop render.Shop
}

// Forward sends the reply to Shop.SupportEmail, saying whose it is and how
// sure that is. Mail from the shop's own addresses is not forwarded (no loops).
func (f *Forwarder) Forward(ctx context.Context, m webhook.InboundMail, r Reply) error {
	from := strings.ToLower(m.From)
	if f.Shop.SupportEmail == "" || from == strings.ToLower(f.Shop.SupportEmail) || from == strings.ToLower(f.Shop.FromEmail) {
		return nil
	}
	head := "顧客: " + r.CustomerID
	switch {
	case r.Unverified:
		head = "顧客: 不明（差出人のドメインを SPF / DKIM で確認できなかったため、どのお客様にも紐づけていません）"
	case r.FromMismatch:
		head += "\n注意: 差出人のアドレスがこのお客様の登録アドレスと一致しません（転送、または なりすましの可能性があります）"
	}
	if r.About != nil {
		head += fmt.Sprintf("\nお送りしたメッセージ: %s（%s）", r.About.Key, r.About.Kind)
	}
	text := head + "\n\n" + m.Text
	subject := m.Subject
	if subject == "" {
		subject = "（件名なし）"
	}
	env := delivery.Envelope{
		FromEmail: f.Shop.FromEmail, FromName: "daifuku", ToEmail: f.Shop.SupportEmail, ReplyTo: m.From,
		Categories: []string{"reply-forward"},
	}
	_, err := f.Mail.Send(ctx, env, &render.Email{
		Subject: "お客様からの返信: " + subject,
		Text:    text,
		HTML:    "<pre style=\"white-space:pre-wrap;font-family:sans-serif\">" + html.EscapeString(text) + "</pre>",
	})
	return err
}
