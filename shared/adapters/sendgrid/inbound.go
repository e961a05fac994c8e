package sendgrid

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"

	"github.com/sendgrid/sendgrid-go/helpers/inbound"

	"github.com/daifuku/daifuku/shared/domain/webhook"
)

// maxInboundText bounds the text kept of one reply: a reply is a few lines;
// the rest is quoted history and signatures.
const maxInboundText = 16 << 10

// ParseInbound reads an Inbound Parse request (multipart/form-data) with
// sendgrid-go's parser. The caller bounds the body's size.
func ParseInbound(r *http.Request) (m webhook.InboundMail, err error) {
	defer func() {
		// The SDK's raw-MIME parser indexes without checking on some malformed
		// input; a bad request must be a 400, not a crash.
		if p := recover(); p != nil {
			err = errors.New("inbound parse: malformed MIME message")
		}
		if r.MultipartForm != nil {
			_ = r.MultipartForm.RemoveAll()
		}
	}()
	parsed, err := inbound.Parse(r)
	if err != nil {
		return webhook.InboundMail{}, fmt.Errorf("inbound parse: %w", err)
	}
	v := parsed.ParsedValues
	m = webhook.InboundMail{
		From: strings.ToLower(parsed.Envelope.From), Subject: v["subject"], Text: parsed.TextBody,
		InReplyTo: parsed.Headers["In-Reply-To"], SPF: v["SPF"], DKIM: v["dkim"],
	}
	for _, to := range parsed.Envelope.To {
		m.To = append(m.To, strings.ToLower(to))
	}
	m.FromEnvelope = m.From != ""
	if m.From == "" {
		if a, err := mail.ParseAddress(v["from"]); err == nil {
			m.From = strings.ToLower(a.Address)
		}
	}
	if len(m.To) == 0 {
		if as, err := mail.ParseAddressList(v["to"]); err == nil {
			for _, a := range as {
				m.To = append(m.To, strings.ToLower(a.Address))
			}
		}
	}
	if m.Text == "" {
		for ct, body := range parsed.Body {
			if strings.HasPrefix(ct, "text/plain") {
				m.Text = body
			}
		}
	}
	if m.From == "" {
		return webhook.InboundMail{}, errors.New("inbound parse: no sender address")
	}
	if len(m.Text) > maxInboundText {
		m.Text = strings.ToValidUTF8(m.Text[:maxInboundText], "")
	}
	return m, nil
}
