// Package sendgrid sends messages through SendGrid's v3 mail send API with the
// official sendgrid-go library.
package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/render"
)

// DefaultHost is SendGrid's API host.
const DefaultHost = "https://api.sendgrid.com"

// Client sends mail. It is safe for concurrent use: each send builds its own
// request rather than sharing sendgrid.Client, which writes the body onto itself.
type Client struct {
	key  string
	host string
	rest *rest.Client
}

// New returns a client for an API key. host "" means SendGrid itself.
func New(key, host string, hc *http.Client) (*Client, error) {
	if key == "" {
		return nil, errors.New("sendgrid: no API key")
	}
	if host == "" {
		host = DefaultHost
	}
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{key: key, host: host, rest: &rest.Client{HTTPClient: hc}}, nil
}

// Build makes the SendGrid mail object. Every value that becomes a mail
// header (subject, names, addresses, custom headers, categories) is cleared
// of control characters: a customer's name or a reply's subject with CR LF in
// it must not add headers or recipients.
func Build(env delivery.Envelope, msg *render.Email) *mail.SGMailV3 {
	m := mail.NewV3Mail()
	m.SetFrom(mail.NewEmail(HeaderSafe(env.FromName), HeaderSafe(env.FromEmail)))
	m.Subject = HeaderSafe(msg.Subject)
	p := mail.NewPersonalization()
	p.AddTos(mail.NewEmail(HeaderSafe(env.ToName), HeaderSafe(env.ToEmail)))
	m.AddPersonalizations(p)
	if addr := bareAddress(env.ReplyTo); addr != "" {
		m.SetReplyTo(mail.NewEmail("", addr)) // a reply address that is no address is left out
	}
	// text/plain must come before text/html.
	m.AddContent(mail.NewContent("text/plain", msg.Text), mail.NewContent("text/html", msg.HTML))
	for k, v := range env.CustomArgs {
		m.SetCustomArg(HeaderSafe(k), HeaderSafe(v))
	}
	for _, c := range env.Categories {
		m.AddCategories(HeaderSafe(c))
	}
	for k, v := range env.Headers {
		m.SetHeader(HeaderSafe(k), HeaderSafe(v))
	}
	if env.Group != 0 {
		// The topic's unsubscribe group: SendGrid then drops it for whoever
		// left the group, and reports a group_unsubscribe with its id.
		m.SetASM(mail.NewASM().SetGroupID(env.Group).AddGroupsToDisplay(env.GroupsToDisplay...))
	}
	return m
}

// bareAddress is s if it is one plain address (no name, no line break), or "".
func bareAddress(s string) string {
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return ""
	}
	return s
}

// HeaderSafe makes a value fit for one mail header line: line breaks and
// tabs become spaces, other control characters go.
func HeaderSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\n' || r == '\t' || r == '\u2028' || r == '\u2029' || r == '\u0085':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

// Send sends one mail. SendGrid answers 202 when it accepted it; the library
// returns no error for other statuses, so they are checked here.
func (c *Client) Send(ctx context.Context, env delivery.Envelope, msg *render.Email) (delivery.Receipt, error) {
	req := sendgrid.GetRequest(c.key, "/v3/mail/send", c.host)
	req.Method = http.MethodPost
	req.Body = mail.GetRequestBody(Build(env, msg))
	res, err := c.rest.SendWithContext(ctx, req)
	if err != nil {
		f := &delivery.Failure{Provider: "sendgrid", Reason: "no response: " + err.Error()}
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			f.Retryable = true // never reached SendGrid
		} else {
			f.Ambiguous = true // may have been accepted; email has no retry key
		}
		return delivery.Receipt{}, f
	}
	if res.StatusCode/100 == 2 {
		return delivery.Receipt{ProviderID: header(res.Headers, "X-Message-Id")}, nil
	}
	f := &delivery.Failure{Provider: "sendgrid", Status: res.StatusCode, Reason: reason(res)}
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
		f.Retryable = true
		if reset, err := strconv.ParseInt(header(res.Headers, "X-RateLimit-Reset"), 10, 64); err == nil {
			f.RetryAfter = time.Until(time.Unix(reset, 0))
		}
	case res.StatusCode >= 500:
		f.Retryable = true
	}
	return delivery.Receipt{}, f
}

func header(h map[string][]string, name string) string { return http.Header(h).Get(name) }

// reason extracts SendGrid's error messages (they name fields, not recipients).
func reason(res *rest.Response) string {
	var body struct {
		Errors []struct {
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(res.Body), &body) == nil && len(body.Errors) > 0 {
		e := body.Errors[0]
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return http.StatusText(res.StatusCode)
}

// Unsuppress takes an address off an unsubscribe group's suppression list
// (DELETE /v3/asm/groups/{group}/suppressions/{email}), so the group's mail
// reaches a customer who asked for it again: after a group_unsubscribe,
// SendGrid drops that group's mail to the address whatever the ledger says.
// An address not on the list (404) is no error.
func (c *Client) Unsuppress(ctx context.Context, group int, email string) error {
	req := sendgrid.GetRequest(c.key, fmt.Sprintf("/v3/asm/groups/%d/suppressions/%s", group, url.PathEscape(email)), c.host)
	req.Method = http.MethodDelete
	res, err := c.rest.SendWithContext(ctx, req)
	if err != nil {
		return fmt.Errorf("sendgrid unsuppress (group %d): %w", group, err)
	}
	if res.StatusCode/100 != 2 && res.StatusCode != http.StatusNotFound {
		return fmt.Errorf("sendgrid unsuppress (group %d): %d %s", group, res.StatusCode, reason(res))
	}
	return nil
}
